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
                        || ["syntax error", "unrecognized token", "no such column"]
                            .iter()
                            .any(|m| err.to_string().contains(m)),
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

/// The parameters the client reads from a statement are the ones SQLite numbers: as many
/// as a real node counts when preparing it, and each value lands on the placeholder its
/// name says. Tcl-style names (`:a::int`, `@a(x)`) used to be read as several names or
/// as fewer, so a mapping bound its values to the wrong placeholders or left one NULL.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parameters_are_numbered_and_named_as_the_server_numbers_them() {
    let cluster = common::start(1);
    let client = common::client(&cluster, "sqltext-params");
    let mut conn = client.connect().await.unwrap();
    // Each statement selects its placeholders; the value bound to each is the name the
    // client gave it, so each column shows which name the server's placeholder got.
    let cases: [(&str, &[&str]); 12] = [
        ("SELECT ?, ?", &["?1", "?2"]),
        ("SELECT ?3, ?, ?1", &["?3", "?4", "?1"]),
        ("SELECT :a, ?1, :b, :a", &[":a", ":a", ":b", ":a"]),
        ("SELECT @a, :a, $a, #a", &["@a", ":a", "$a", "#a"]),
        ("SELECT :a::int, :int", &[":a::int", ":int"]),
        ("SELECT @a(x), @a", &["@a(x)", "@a"]),
        (
            "SELECT $a::b(c), :b, $a::b(c)",
            &["$a::b(c)", ":b", "$a::b(c)"],
        ),
        ("SELECT $a(x;y), ?", &["$a(x;y)", "?2"]),
        ("SELECT $::a, :\u{e9}", &["$::a", ":\u{e9}"]),
        ("SELECT '?', \"?\" AS [?], ? -- ?", &["?", "?", "?1"]),
        ("SELECT ?1a", &["?1"]),
        ("SELECT ?00002, ?", &["?00002", "?3"]),
    ];
    for (text, expected) in cases {
        let names = dqlite_client::sql::parameters(text);
        let statement = conn.prepare(text).await.unwrap();
        assert_eq!(
            names.len() as u64,
            statement.param_count(),
            "{text:?}: {names:?}"
        );
        conn.finalize(statement).await.unwrap();
        let values: Vec<Value> = names
            .iter()
            .enumerate()
            .map(|(i, name)| Value::from(name.map_or_else(|| format!("?{}", i + 1), str::to_owned)))
            .collect();
        let rows = conn.query_all(text, &values).await.unwrap();
        let got: Vec<Value> = rows.rows[0].values().to_vec();
        let want: Vec<Value> = expected.iter().map(|&s| Value::from(s)).collect();
        assert_eq!(got, want, "{text:?}");
    }
    // Numbered placeholders up to the server's limit count as the server counts them.
    for (text, count) in [("SELECT ?32767", 32767), ("SELECT ?250000", 250_000)] {
        let statement = conn.prepare(text).await.unwrap();
        assert_eq!(statement.param_count(), count, "{text}");
        assert_eq!(
            dqlite_client::sql::parameters(text).len() as u64,
            count,
            "{text}"
        );
        conn.finalize(statement).await.unwrap();
    }
}

/// A CTE may be called `replace` (a keyword SQLite also takes as a name): the statement
/// after it is what decides how it is sent. Read as the verb REPLACE, such a SELECT went
/// as EXEC and failed with "another row available".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cte_named_replace_is_not_the_statement_verb() {
    let cluster = common::start(1);
    let client = common::client(&cluster, "sqltext-cte");
    let mut conn = client.connect().await.unwrap();
    conn.execute("CREATE TABLE replace (a)", &[]).await.unwrap();
    conn.execute("INSERT INTO replace VALUES (1), (2)", &[])
        .await
        .unwrap();
    let rows = conn
        .query_all("WITH replace AS (SELECT 7 AS a) SELECT a FROM replace", &[])
        .await
        .unwrap();
    assert_eq!(rows.rows.len(), 1, "{rows:?}");
    assert_eq!(rows.rows[0].values(), [Value::Integer(7)]);
    let rows = conn
        .query_all(
            "WITH x AS (SELECT 1), Replace(v) AS (VALUES (3), (4)) SELECT v FROM Replace",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(rows.rows.len(), 2, "{rows:?}");
    // A write after such a CTE is still sent as one, and counted.
    let done = conn
        .execute(
            "WITH replace(v) AS (VALUES (5)) INSERT INTO replace SELECT v FROM replace",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(done.rows_affected, 1);
    let rows = conn
        .query_all("SELECT count(*) FROM replace", &[])
        .await
        .unwrap();
    assert_eq!(rows.rows[0].values(), [Value::Integer(3)]);
}

/// `EXPLAIN CREATE TRIGGER ... BEGIN ...; END` is one statement to SQLite (and to
/// `sqlite3_complete`): it was split at the body's first `;` and refused as several.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_explained_trigger_is_one_statement() {
    let cluster = common::start(1);
    let client = common::client(&cluster, "sqltext-explain");
    let mut conn = client.connect().await.unwrap();
    conn.execute("CREATE TABLE t (a)", &[]).await.unwrap();
    for text in [
        "EXPLAIN CREATE TRIGGER tr AFTER INSERT ON t BEGIN DELETE FROM t; END",
        "EXPLAIN QUERY PLAN CREATE TEMP TRIGGER tr AFTER INSERT ON t BEGIN SELECT 1; END;",
    ] {
        // Sent as one statement. (1.15 to 1.18.1 run EXPLAIN of a write as the write's
        // request, and answer that it yields rows: an error of the server's.)
        if let Err(err) = conn.query_all(text, &[]).await {
            assert_eq!(err.kind(), ErrorKind::Sql, "{text:?}: {err}");
            assert!(err.to_string().contains("rows yielded"), "{text:?}: {err}");
        }
    }
    // Explained, not run: no trigger deletes the row.
    conn.execute("INSERT INTO t VALUES (1)", &[]).await.unwrap();
    let rows = conn.query_all("SELECT a FROM t", &[]).await.unwrap();
    assert_eq!(rows.rows.len(), 1, "{rows:?}");
}

/// `PRAGMA journal_mode` set to a mode other than WAL, or `PRAGMA page_size` to another
/// size, kills a 1.11 node at once; `PRAGMA wal_checkpoint`, and `PRAGMA count_changes =
/// ON` (which makes DML return a row), kill it at the connection's next write; a low
/// `PRAGMA hard_heap_limit` leaves the node out of memory for every client. They are
/// refused before anything is sent, through every entry point.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pragmas_that_kill_a_node_are_refused() {
    let cluster = common::start(1);
    let client = common::client(&cluster, "sqltext-pragma");
    let mut conn = client.connect().await.unwrap();
    conn.execute("CREATE TABLE t (a)", &[]).await.unwrap();
    for text in [
        "PRAGMA journal_mode = DELETE",
        "PRAGMA main.journal_mode(memory)",
        "PRAGMA journal_mode = OFF",
        "PRAGMA wal_checkpoint",
        "PRAGMA wal_checkpoint(FULL)",
        "PRAGMA count_changes = ON",
        "PRAGMA page_size = 512",
        "PRAGMA main.page_size(65536)",
        "PRAGMA hard_heap_limit = 1",
        "PRAGMA journal_mode = d",
        "PRAGMA synchronous = FULL",
    ] {
        let classified = ClassifiedSql::new(text);
        let outcomes = [
            conn.execute(text, &[]).await.map(drop),
            conn.query_all(text, &[]).await.map(drop),
            conn.execute_classified(&classified, &[]).await.map(drop),
            conn.query_classified(&classified, &[]).await.map(drop),
            conn.prepare(text).await.map(drop),
            conn.execute_script(&format!("{text}; SELECT 1"))
                .await
                .map(drop),
            conn.execute_many(text, [Vec::<Value>::new()], 1)
                .await
                .map(drop),
        ];
        for outcome in outcomes {
            let err = outcome.expect_err(text);
            assert_eq!(err.kind(), ErrorKind::Unsupported, "{text}: {err}");
        }
        conn.execute("INSERT INTO t VALUES (1)", &[])
            .await
            .unwrap_or_else(|e| panic!("{text}: the next write: {e}"));
    }
    // The reading forms, and the settings dqlite keeps anyway, are not refused.
    for text in [
        "PRAGMA journal_mode",
        "PRAGMA journal_mode = WAL",
        "PRAGMA count_changes = OFF",
        "PRAGMA page_size = 4096",
        "PRAGMA synchronous = NORMAL",
        "PRAGMA hard_heap_limit",
    ] {
        if let Err(err) = conn.execute(text, &[]).await {
            assert_ne!(err.kind(), ErrorKind::Unsupported, "{text}: {err}");
        }
    }
    let mut other = client.connect().await.unwrap();
    other
        .execute("INSERT INTO t VALUES (2)", &[])
        .await
        .unwrap();
    let logs = cluster.logs(0).unwrap();
    assert!(!logs.contains("free()"), "{logs}");
}
