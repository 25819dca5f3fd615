//! A fake node sends what a real one cannot on demand: hostile sizes, truncation, wrong
//! types, endless frames, stalls. The client answers each with a typed error by its
//! deadline, never a panic or a hang, and never reuses the connection.

use std::io;
use std::time::{Duration, Instant};

use dqlite_client::{Cluster, Config, ErrorKind, Value};
use dqlite_testkit::fake::{FakeConn, FakeNode};
use dqlite_wire::{Response, RowsEnd};

use crate::fake::{frame, lead, on_connection, rows};

/// Starts a fake leader whose statement phase is `script`, and runs `SELECT 1` on it
/// through the client with a 1-second request deadline.
fn run(
    script: impl Fn(&mut FakeConn) -> io::Result<()> + Send + Sync + 'static,
) -> (dqlite_client::Error, Duration, bool) {
    let node = FakeNode::start(move |conn, address| {
        lead(conn, address)?;
        conn.read_request()?;
        script(conn)
    })
    .unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let config = Config::new([node.address()])
            .unwrap()
            .request_timeout(Duration::from_secs(1))
            .connect_timeout(Duration::from_secs(3));
        let mut conn = Cluster::new(config).connect().await.unwrap();
        let started = Instant::now();
        let err = conn.query_all("SELECT 1", &[]).await.unwrap_err();
        let took = started.elapsed();
        (err, took, conn.is_broken())
    })
}

fn assert_protocol_error(err: &dqlite_client::Error, broken: bool) {
    assert_eq!(err.kind(), ErrorKind::Protocol, "{err}");
    assert!(
        broken,
        "a connection that saw a protocol error must not be reused"
    );
}

#[test]
fn a_huge_declared_size_is_refused_without_allocating() {
    let (err, took, broken) = run(|conn| {
        // 2^32 - 1 words: 32 GiB.
        conn.write(&[0xff, 0xff, 0xff, 0xff, 7, 0, 0, 0])?;
        conn.stall();
        Ok(())
    });
    assert_protocol_error(&err, broken);
    assert!(err.to_string().contains("exceeds"), "{err}");
    assert!(took < Duration::from_millis(500), "{took:?}");
}

#[test]
fn a_frame_truncated_by_a_close_is_a_transport_error() {
    let (err, _, broken) = run(|conn| {
        let full = rows(&["1"], &[vec![Value::Integer(1)]], RowsEnd::Done);
        conn.write(&full[..full.len() - 5])
    });
    assert_eq!(err.kind(), ErrorKind::Transport, "{err}");
    assert!(broken);
}

#[test]
fn a_server_that_stops_mid_frame_fails_by_the_deadline() {
    let (err, took, broken) = run(|conn| {
        let full = rows(&["1"], &[vec![Value::Integer(1)]], RowsEnd::Done);
        conn.write(&full[..12])?;
        conn.stall();
        Ok(())
    });
    assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");
    assert!(broken);
    assert!(
        took >= Duration::from_millis(900) && took < Duration::from_millis(2_000),
        "{took:?}"
    );
}

#[test]
fn a_blackhole_fails_by_the_deadline() {
    let (err, took, broken) = run(|conn| {
        conn.stall();
        Ok(())
    });
    assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");
    assert!(broken);
    assert!(took < Duration::from_millis(2_000), "{took:?}");
}

#[test]
fn an_unknown_response_type_is_a_protocol_error() {
    let (err, _, broken) = run(|conn| {
        conn.write_frame(42, 0, &[0; 8])?;
        conn.stall();
        Ok(())
    });
    assert_protocol_error(&err, broken);
}

#[test]
fn a_wrong_value_type_in_a_row_is_a_protocol_error() {
    let (err, _, broken) = run(|conn| {
        let mut body = 1u64.to_le_bytes().to_vec();
        body.extend_from_slice(b"1\0\0\0\0\0\0\0");
        body.extend_from_slice(&[7, 0, 0, 0, 0, 0, 0, 0]); // type 7 does not exist
        body.extend_from_slice(&[0; 8]);
        body.extend_from_slice(&dqlite_wire::DONE_MARKER);
        conn.write_frame(7, 0, &body)?;
        conn.stall();
        Ok(())
    });
    assert_protocol_error(&err, broken);
}

#[test]
fn a_truncated_tuple_is_a_protocol_error() {
    let (err, _, broken) = run(|conn| {
        let mut body = 2u64.to_le_bytes().to_vec();
        body.extend_from_slice(b"a\0\0\0\0\0\0\0b\0\0\0\0\0\0\0");
        body.extend_from_slice(&[0x31, 0, 0, 0, 0, 0, 0, 0]); // INTEGER, TEXT
        body.extend_from_slice(&5i64.to_le_bytes());
        body.extend_from_slice(b"no terminator"); // text runs off the frame
        body.resize(body.len().next_multiple_of(8), b'x');
        conn.write_frame(7, 0, &body)?;
        conn.stall();
        Ok(())
    });
    assert_protocol_error(&err, broken);
}

#[test]
fn endless_empty_part_frames_are_cut_short() {
    let (err, took, broken) = run(|conn| {
        let part = rows(&["1"], &[], RowsEnd::Part);
        loop {
            conn.write(&part)?;
        }
    });
    assert_protocol_error(&err, broken);
    assert!(took < Duration::from_millis(500), "{took:?}");
}

#[test]
fn a_continuation_with_other_columns_is_a_protocol_error() {
    let (err, _, broken) = run(|conn| {
        conn.write(&rows(&["a"], &[vec![Value::Integer(1)]], RowsEnd::Part))?;
        conn.write(&rows(
            &["a", "b"],
            &[vec![Value::Integer(2), Value::Integer(3)]],
            RowsEnd::Done,
        ))?;
        conn.stall();
        Ok(())
    });
    assert_protocol_error(&err, broken);
}

#[test]
fn a_failure_mid_stream_ends_the_result_in_sync() {
    let node = FakeNode::start(|conn, address| {
        lead(conn, address)?;
        conn.read_request()?;
        conn.write(&rows(&["n"], &[vec![Value::Integer(1)]], RowsEnd::Part))?;
        conn.write(&frame(&Response::Failure {
            code: 1,
            message: "boom".into(),
        }))?;
        // The connection is in sync again: answer the next statement normally.
        conn.read_request()?;
        conn.write(&rows(&["n"], &[vec![Value::Integer(7)]], RowsEnd::Done))?;
        conn.stall();
        Ok(())
    })
    .unwrap();
    on_connection(&node, Duration::from_secs(2), async |conn| {
        let err = conn.query_all("SELECT n FROM t", &[]).await.unwrap_err();
        assert_eq!(err.server_error().map(|e| e.code), Some(1), "{err}");
        assert!(!conn.is_broken());
        let rows = conn.query_all("SELECT 7", &[]).await.unwrap();
        assert_eq!(rows.rows[0].values(), [Value::Integer(7)]);
    });
}

/// A batch row answered with something other than RESULT is reported as that row's
/// failure ([`Error::Batch`], as every other failure of a batch), its outcome unknown, and
/// the connection is not reused.
#[test]
fn a_batch_row_answered_with_rows_is_that_rows_failure() {
    let node = FakeNode::start(|conn, address| {
        lead(conn, address)?;
        // PREPARE.
        conn.read_request()?;
        conn.write(&frame(&Response::Stmt {
            db_id: 0,
            stmt_id: 1,
            param_count: 1,
            tail_offset: None,
        }))?;
        // Row 0 is answered as an EXEC is; row 1 as a query.
        conn.read_request()?;
        conn.write(&frame(&Response::Result {
            last_insert_id: 1,
            rows_affected: 1,
        }))?;
        conn.read_request()?;
        conn.write(&rows(&["n"], &[vec![Value::Integer(2)]], RowsEnd::Done))?;
        conn.stall();
        Ok(())
    })
    .unwrap();
    on_connection(&node, Duration::from_secs(2), async |conn| {
        let rows: Vec<Vec<Value>> = (1..=3).map(|n| vec![Value::Integer(n)]).collect();
        let err = conn
            .execute_many("INSERT INTO t VALUES (?)", &rows, 1)
            .await
            .unwrap_err();
        let dqlite_client::Error::Batch { row, source } = &err else {
            panic!("expected Error::Batch, got {err:?}");
        };
        assert_eq!(*row, 1, "{err}");
        assert_eq!(source.kind(), ErrorKind::OutcomeUnknown, "{err}");
        assert!(err.to_string().contains("expected RESULT"), "{err}");
        assert!(conn.is_broken());
    });
}
