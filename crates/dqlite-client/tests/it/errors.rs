//! Server failures come back typed, with code and message; the connection stays usable
//! after SQL errors and is discarded after leadership errors.

use dqlite_client::{Connection, ErrorKind, Value};

use crate::common;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sql_errors_carry_code_and_message() {
    let cluster = common::start(1);
    let mut conn = common::client(&cluster, "errors").connect().await.unwrap();
    let err = conn.execute("SELEC 1", &[]).await.unwrap_err();
    let server = err.server_error().expect("a server error");
    assert_eq!(server.code, 1);
    assert!(server.message.contains("syntax error"), "{server}");
    assert_eq!(err.kind(), ErrorKind::Sql);

    conn.execute("CREATE TABLE u (k TEXT PRIMARY KEY, v TEXT UNIQUE)", &[])
        .await
        .unwrap();
    conn.execute("INSERT INTO u VALUES ('a', 'x')", &[])
        .await
        .unwrap();
    let err = conn
        .execute("INSERT INTO u VALUES ('a', 'y')", &[])
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Constraint);
    assert_eq!(err.server_error().unwrap().code, 1555); // SQLITE_CONSTRAINT_PRIMARYKEY
    assert_eq!(
        err.server_error().unwrap().code_name(),
        "SQLITE_CONSTRAINT_PRIMARYKEY"
    );
    let err = conn
        .execute("INSERT INTO u VALUES ('b', 'x')", &[])
        .await
        .unwrap_err();
    assert_eq!(err.server_error().unwrap().code, 2067); // SQLITE_CONSTRAINT_UNIQUE

    // None of that broke the connection.
    assert!(!conn.is_broken());
    let n = conn.query_all("SELECT count(*) FROM u", &[]).await.unwrap();
    assert_eq!(n.rows[0].values(), [Value::Integer(1)]);
}

/// A statement that fails while its rows are being stepped (a runtime error, a constraint
/// on `INSERT ... RETURNING`) is answered, by every server version, with a FAILURE frame
/// that starts with the ROWS body begun so far (column names, any whole rows): the error
/// is the server's, not the column count and first name read as a code and a message.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_statement_failing_while_stepping_reports_the_servers_error() {
    let cluster = common::start(1);
    let mut conn = common::client(&cluster, "stepping")
        .connect()
        .await
        .unwrap();
    let failing = [
        // Fails at the first step: the column header alone comes before the failure.
        "SELECT 1 AS one, json('not json') AS j",
        // A whole row comes first.
        "SELECT id, CASE WHEN id > 1 THEN json('x') END FROM (SELECT 1 AS id UNION ALL SELECT 2)",
    ];
    for sql in failing {
        let err = conn.query_all(sql, &[]).await.unwrap_err();
        let server = err.server_error().unwrap_or_else(|| panic!("{sql}: {err}"));
        assert_eq!(
            (server.code, server.message.as_str()),
            (1, "malformed JSON"),
            "{sql}"
        );
        assert!(!conn.is_broken(), "{sql}");
    }
    conn.execute(
        "CREATE TABLE t (id INTEGER PRIMARY KEY, x TEXT UNIQUE)",
        &[],
    )
    .await
    .unwrap();
    conn.execute("INSERT INTO t VALUES (1, 'a')", &[])
        .await
        .unwrap();
    if cluster.version().min_library() >= (1, 18, 2) {
        let err = conn
            .query_all("INSERT INTO t (x) VALUES ('a') RETURNING id", &[])
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Constraint, "{err}");
        let server = err.server_error().unwrap();
        assert_eq!(server.code, 2067); // SQLITE_CONSTRAINT_UNIQUE
        assert_eq!(server.message, "UNIQUE constraint failed: t.x");
        assert!(!conn.is_broken());
    }
    let n = conn.query_all("SELECT count(*) FROM t", &[]).await.unwrap();
    assert_eq!(n.rows[0].values(), [Value::Integer(1)]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_is_refused_before_sending() {
    let cluster = common::start(1);
    let mut conn = common::client(&cluster, "input").connect().await.unwrap();
    let err = conn
        .execute("SELECT ?", &[Value::from("nul\0inside")])
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
    assert!(err.to_string().contains("NUL"), "{err}");
    let err = conn
        .execute("SELECT ?", &[Value::UnixTime(1)])
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
    let err = conn.execute("SELECT 1; SELECT 2", &[]).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
    let err = conn.execute("  -- nothing\n", &[]).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
    // Nothing was sent, so the connection is fine.
    assert_eq!(
        conn.query_all("SELECT 'ok'", &[]).await.unwrap().rows[0].values(),
        [Value::from("ok")]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_follower_answers_not_leader_and_the_connection_is_discarded() {
    let cluster = common::start(3);
    let config = common::config(&cluster, "follower");
    let leader = cluster.leader().unwrap();
    let follower = (0..3).find(|&i| i != leader).unwrap();
    let address = cluster.addresses()[follower].parse().unwrap();
    let mut conn = Connection::handshake(&address, &config).await.unwrap();
    // 1.18.2+ refuses OPEN on a follower; older servers accept it and refuse statements.
    let err = match conn.open("follower").await {
        Err(e) => e,
        Ok(()) => conn.execute("CREATE TABLE t (n)", &[]).await.unwrap_err(),
    };
    assert_eq!(err.kind(), ErrorKind::NotLeader, "{err}");
    assert!(conn.saw_leadership_change());
    assert!(conn.is_broken());
}
