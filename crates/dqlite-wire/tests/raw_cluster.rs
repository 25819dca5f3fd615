//! A round trip with nothing but this codec and a plain TCP socket, against a real
//! 3-node cluster started by the test kit: find the leader, open a database, write, read
//! the row back.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use bytes::BytesMut;
use dqlite_testkit::TestCluster;
use dqlite_wire::{FrameDecoder, Request, Response, Role, Value, ValueRef};

struct Raw {
    stream: TcpStream,
    buf: BytesMut,
    decoder: FrameDecoder,
}

impl Raw {
    fn connect(address: &str) -> Raw {
        let mut stream = TcpStream::connect(address).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        stream
            .write_all(&dqlite_wire::PROTOCOL_VERSION.to_le_bytes())
            .unwrap();
        Raw {
            stream,
            buf: BytesMut::new(),
            decoder: FrameDecoder::default(),
        }
    }

    fn send(&mut self, request: &Request<'_>) {
        let mut out = BytesMut::new();
        request.encode(&mut out).unwrap();
        self.stream.write_all(&out).unwrap();
    }

    fn receive(&mut self) -> Response {
        loop {
            if let Some((header, body)) = self.decoder.decode(&mut self.buf).unwrap() {
                return Response::decode(&header, body).unwrap();
            }
            let mut chunk = [0u8; 4096];
            let n = self.stream.read(&mut chunk).unwrap();
            assert!(n > 0, "the node closed the connection");
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }

    fn call(&mut self, request: &Request<'_>) -> Response {
        self.send(request);
        self.receive()
    }
}

#[test]
fn raw_round_trip_on_a_three_node_cluster() {
    let cluster = TestCluster::builder().nodes(3).start().unwrap();
    let addresses = cluster.addresses();

    // Any node names the leader.
    let mut probe = Raw::connect(&addresses[0]);
    let leader = match probe.call(&Request::Leader) {
        Response::Server { id, address } if id != 0 => address,
        other => panic!("no leader: {other:?}"),
    };
    assert!(addresses.contains(&leader), "{leader} not in {addresses:?}");
    match probe.call(&Request::Cluster { format: 1 }) {
        Response::Servers(nodes) => {
            assert_eq!(nodes.len(), 3);
            assert!(nodes.iter().all(|n| n.role == Some(Role::Voter)));
        }
        other => panic!("{other:?}"),
    }

    let mut conn = Raw::connect(&leader);
    assert!(matches!(
        conn.call(&Request::Client { id: 1 }),
        Response::Welcome { .. }
    ));
    assert_eq!(
        conn.call(&Request::Open {
            name: "raw",
            flags: 0,
            vfs: "volatile"
        }),
        Response::Db { db_id: 0 }
    );
    let exec = |conn: &mut Raw, sql: &str, params: Vec<Value>| {
        conn.call(&Request::ExecSql {
            db_id: 0,
            sql,
            params: params.into(),
            schema: 0,
        })
    };
    assert!(matches!(
        exec(&mut conn, "CREATE TABLE v (a, b, c, d, e)", vec![]),
        Response::Result { .. }
    ));
    assert_eq!(
        exec(
            &mut conn,
            "INSERT INTO v VALUES (?, ?, ?, ?, ?)",
            vec![
                Value::Integer(42),
                Value::Float(1.5),
                Value::from("hi"),
                Value::Blob(vec![0xde, 0xad, 0xbe, 0xef, 0x01]),
                Value::Null,
            ]
        ),
        Response::Result {
            last_insert_id: 1,
            rows_affected: 1
        }
    );
    let Response::Rows(frame) = conn.call(&Request::QuerySql {
        db_id: 0,
        sql: "SELECT a, b, c, d, e FROM v",
        params: Vec::new().into(),
        schema: 0,
    }) else {
        panic!("expected ROWS")
    };
    assert!(frame.is_done());
    assert_eq!(
        frame.column_names().collect::<Vec<_>>(),
        ["a", "b", "c", "d", "e"]
    );
    let rows: Vec<Vec<ValueRef<'_>>> = frame.rows().map(|r| r.values().collect()).collect();
    assert_eq!(
        rows,
        [vec![
            ValueRef::Integer(42),
            ValueRef::Float(1.5),
            ValueRef::Text(b"hi"),
            ValueRef::Blob(&[0xde, 0xad, 0xbe, 0xef, 0x01]),
            ValueRef::Null,
        ]]
    );
}
