//! `Connection::abort_handle`: another thread ends a blocking connection's call at once,
//! on a real node whose answers a fault proxy holds back.

use std::time::{Duration, Instant};

use dqlite_client::{AbortHandle, Address, Config, Connection, Error, ErrorKind};
use dqlite_testkit::TestCluster;
use dqlite_testkit::proxy::{Fault, FaultProxy};

use crate::common;

/// The request deadline: far longer than the abort takes.
const REQUEST: Duration = Duration::from_secs(30);
/// When the other thread aborts, after the call started.
const ABORT_AFTER: Duration = Duration::from_millis(300);

/// A blocking connection through `proxy` (no leader discovery), `t` created, and the
/// runtime that drives it on this thread.
fn blocking_conn(proxy: &FaultProxy, db: &str) -> (tokio::runtime::Runtime, Connection) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let address: Address = proxy.address().parse().unwrap();
    let config = Config::new([proxy.address()])
        .unwrap()
        .database(db)
        .request_timeout(REQUEST);
    let conn = rt.block_on(async {
        let mut conn = Connection::handshake(&address, &config).await.unwrap();
        conn.open(db).await.unwrap();
        conn.execute("CREATE TABLE t (v)", &[]).await.unwrap();
        conn
    });
    (rt, conn)
}

/// A 1-node cluster, a fault proxy in front of it, and a blocking connection through the
/// proxy with database `db` open.
fn setup(db: &str) -> (TestCluster, FaultProxy, tokio::runtime::Runtime, Connection) {
    let cluster = common::start(1);
    let proxy = FaultProxy::start(cluster.addresses()[0].clone()).unwrap();
    let (rt, mut conn) = blocking_conn(&proxy, db);
    // Only a blocking connection has one (its calls wait in system calls).
    assert!(conn.abort_handle().is_none());
    assert!(conn.use_blocking_io().unwrap());
    (cluster, proxy, rt, conn)
}

/// Runs `call` (a call on the connection `handle` belongs to) with a blackholed node,
/// aborting through `handle` from another thread `ABORT_AFTER` after the start; its error
/// and how long it took, which must be about `ABORT_AFTER`, far less than `REQUEST`.
fn aborted<T: std::fmt::Debug>(
    rt: &tokio::runtime::Runtime,
    proxy: &FaultProxy,
    handle: AbortHandle,
    call: impl std::future::Future<Output = Result<T, Error>>,
) -> Error {
    proxy.set_fault(Fault::Blackhole);
    let aborter = std::thread::spawn(move || {
        std::thread::sleep(ABORT_AFTER);
        handle.abort();
    });
    let started = Instant::now();
    let err = rt.block_on(call).unwrap_err();
    let took = started.elapsed();
    aborter.join().unwrap();
    assert!(took >= ABORT_AFTER, "{took:?}");
    assert!(
        took < ABORT_AFTER + Duration::from_secs(2),
        "{took:?}: not ended at once"
    );
    err
}

fn cause(e: &Error) -> ErrorKind {
    match e {
        Error::OutcomeUnknown { source } => source.kind(),
        other => other.kind(),
    }
}

#[test]
fn an_abort_ends_a_stalled_blocking_call_at_once() {
    let (_cluster, proxy, rt, mut conn) = setup("abort-stalled");

    // A read whose answer never comes.
    let handle = conn.abort_handle().unwrap();
    let err = aborted(&rt, &proxy, handle, conn.query_all("SELECT 1", &[]));
    assert_eq!(cause(&err), ErrorKind::Transport, "{err}");
    assert!(conn.is_broken());
    // Later calls fail without going anywhere; another abort changes nothing.
    conn.abort_handle().unwrap().abort();
    let again = rt.block_on(conn.query_all("SELECT 1", &[])).unwrap_err();
    assert_eq!(again.kind(), ErrorKind::Closed, "{again}");
}

#[test]
fn an_abort_of_a_write_in_flight_reports_its_outcome_unknown() {
    let (_cluster, proxy, rt, mut conn) = setup("abort-write");
    let handle = conn.abort_handle().unwrap();
    let call = conn.execute("INSERT INTO t VALUES (1)", &[]);
    let err = aborted(&rt, &proxy, handle, call);
    assert!(matches!(err, Error::OutcomeUnknown { .. }), "{err}");
    assert!(conn.is_broken());
}

#[test]
fn a_handle_kept_does_not_keep_the_socket_open() {
    let (_cluster, proxy, rt, conn) = setup("abort-dropped");
    let handle = conn.abort_handle().unwrap();
    drop(conn);
    // The proxy sees the client's side closed: its connection count drops to zero.
    let deadline = Instant::now() + Duration::from_secs(5);
    while proxy.stats().open > 0 {
        assert!(
            Instant::now() < deadline,
            "the socket stayed open: {:?}",
            proxy.stats()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    handle.abort();
    drop(rt);
}
