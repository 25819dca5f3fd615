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
