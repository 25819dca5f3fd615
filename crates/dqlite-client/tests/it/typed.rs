//! The typed API on a real cluster: parameters from Rust values with `params!`, rows read
//! back with `Row::get::<T>`, declared date and boolean columns included (the server sends
//! their values with its own type codes).

use std::time::{Duration, SystemTime};

use dqlite_client::{ErrorKind, Value, params};

use crate::common;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rust_values_round_trip_through_a_cluster() {
    let cluster = common::start(1);
    let mut conn = common::client(&cluster, "typed").connect().await.unwrap();
    conn.execute(
        "CREATE TABLE t (i INTEGER, small INTEGER, f REAL, s TEXT, b BLOB, ok BOOLEAN, \
         at DATETIME, maybe TEXT)",
        &[],
    )
    .await
    .unwrap();
    // Whole milliseconds: the server's date parser keeps three digits of the fraction.
    let at = SystemTime::UNIX_EPOCH + Duration::from_millis(1_700_049_600_250);
    let none: Option<&str> = None;
    conn.execute(
        "INSERT INTO t VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        &params![
            i64::MIN,
            200u8,
            0.25f32,
            "ünï",
            &b"\x00\x01"[..],
            true,
            at,
            none
        ],
    )
    .await
    .unwrap();
    conn.execute(
        "INSERT INTO t VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        &params![
            7,
            1u16,
            2.5,
            String::from("x"),
            vec![9u8],
            false,
            None::<SystemTime>,
            Some("here")
        ],
    )
    .await
    .unwrap();

    let rows = conn
        .query_all("SELECT * FROM t ORDER BY i", &[])
        .await
        .unwrap();
    let first = &rows.rows[0];
    assert_eq!(first.get::<i64>(0).unwrap(), i64::MIN);
    assert_eq!(first.get::<u8>(1).unwrap(), 200);
    assert_eq!(first.get::<f32>(2).unwrap(), 0.25);
    assert_eq!(first.get::<String>(3).unwrap(), "ünï");
    assert_eq!(first.get::<Vec<u8>>(4).unwrap(), [0, 1]);
    assert!(first.get::<bool>(5).unwrap());
    assert_eq!(first.get::<SystemTime>(6).unwrap(), at);
    assert_eq!(first.get::<Option<String>>(7).unwrap(), None);

    let second = &rows.rows[1];
    assert_eq!(second.get::<i32>(0).unwrap(), 7);
    assert!(!second.get::<bool>(5).unwrap());
    // NULL in a DATETIME column arrives as empty ISO-8601 text: None all the same.
    assert_eq!(second.get::<Option<SystemTime>>(6).unwrap(), None);
    assert_eq!(
        second.get::<Option<String>>(7).unwrap().as_deref(),
        Some("here")
    );
    assert_eq!(second.value(3), Some(&Value::from("x")));

    // Wrong types and missing columns are typed errors; try_get is lenient.
    let err = first.get::<i64>(3).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidData, "{err}");
    assert!(err.to_string().contains("column 3"), "{err}");
    assert_eq!(
        first.get::<i8>(1).unwrap_err().kind(),
        ErrorKind::InvalidData
    );
    assert_eq!(
        first.get::<i64>(99).unwrap_err().kind(),
        ErrorKind::InvalidInput
    );
    assert_eq!(first.try_get::<i64>(3), None);
    assert_eq!(second.try_get::<i64>(0), Some(7));
}
