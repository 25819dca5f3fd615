//! Helpers for tests against the test kit's fake node: encoded frames, and a healthy
//! leader's opening (handshake, LEADER, OPEN) before a scenario misbehaves.

use std::io;
use std::time::Duration;

use bytes::BytesMut;
use dqlite_client::{Cluster, Config, Connection, Value};
use dqlite_testkit::fake::{FakeConn, FakeNode};
use dqlite_wire::{Response, RowsEnd, RowsFrame};

pub fn frame(response: &Response) -> Vec<u8> {
    let mut out = BytesMut::new();
    response.encode(&mut out).unwrap();
    out.to_vec()
}

pub fn rows(columns: &[&str], rows: &[Vec<Value>], end: RowsEnd) -> Vec<u8> {
    frame(&Response::Rows(
        RowsFrame::build(columns, rows, end).unwrap(),
    ))
}

/// Plays a healthy leader up to the first statement: handshake, LEADER (naming itself),
/// OPEN. Then returns so the scenario can misbehave.
pub fn lead(conn: &mut FakeConn, address: &str) -> io::Result<()> {
    conn.read_handshake()?;
    loop {
        match conn.read_request()? {
            0 => conn.write(&frame(&Response::Server {
                id: 1,
                address: address.into(),
            }))?,
            1 => conn.write(&frame(&Response::Welcome {
                heartbeat_timeout: 15_000,
            }))?,
            3 => {
                conn.write(&frame(&Response::Db { db_id: 0 }))?;
                return Ok(());
            }
            other => return Err(io::Error::other(format!("unexpected request {other}"))),
        }
    }
}

/// Runs `scenario` on a connection to the fake `node` (with `request_timeout`), on a
/// current-thread runtime of its own.
pub fn on_connection<T>(
    node: &FakeNode,
    request_timeout: Duration,
    scenario: impl AsyncFnOnce(&mut Connection) -> T,
) -> T {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let config = Config::new([node.address()])
            .unwrap()
            .request_timeout(request_timeout);
        let mut conn = Cluster::new(config).connect().await.unwrap();
        scenario(&mut conn).await
    })
}
