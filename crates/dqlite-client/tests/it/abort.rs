//! `Connection::abort_handle`: another thread ends a blocking connection's call at once,
//! on a real node whose answers a fault proxy holds back.

use std::time::{Duration, Instant};

use dqlite_client::{AbortHandle, Address, Config, Connection, Error, ErrorKind, TlsConfig};
use dqlite_testkit::TestCluster;
use dqlite_testkit::proxy::{Fault, FaultProxy};

use crate::common;

/// The request deadline: far longer than the abort takes.
const REQUEST: Duration = Duration::from_secs(30);
/// When the other thread aborts, after the call started.
const ABORT_AFTER: Duration = Duration::from_millis(300);

/// A connection through `proxy` (no leader discovery), over TLS when `tls` is given, `t`
/// created, and the runtime that drives it on this thread (a current-thread one as the
/// blocking API's, or a multi-thread one as a shared background runtime).
fn conn_through(
    proxy: &FaultProxy,
    db: &str,
    tls: Option<TlsConfig>,
    multi_thread: bool,
) -> (tokio::runtime::Runtime, Connection) {
    let mut rt = if multi_thread {
        tokio::runtime::Builder::new_multi_thread()
    } else {
        tokio::runtime::Builder::new_current_thread()
    };
    let rt = rt.enable_all().build().unwrap();
    let address: Address = proxy.address().parse().unwrap();
    let mut config = Config::new([proxy.address()])
        .unwrap()
        .database(db)
        .request_timeout(REQUEST);
    if let Some(tls) = tls {
        config = config.tls(tls);
    }
    let conn = rt.block_on(async {
        let mut conn = Connection::handshake(&address, &config).await.unwrap();
        conn.open(db).await.unwrap();
        conn.execute("CREATE TABLE IF NOT EXISTS t (v)", &[])
            .await
            .unwrap();
        conn
    });
    (rt, conn)
}

/// A blocking connection through `proxy` (see [`conn_through`]).
fn blocking_conn(proxy: &FaultProxy, db: &str) -> (tokio::runtime::Runtime, Connection) {
    conn_through(proxy, db, None, false)
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

/// Waits until the proxy sees none of its client connections open any more.
fn all_closed(proxy: &FaultProxy) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while proxy.stats().open > 0 {
        assert!(
            Instant::now() < deadline,
            "the socket stayed open: {:?}",
            proxy.stats()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
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
    // Taken before the aborter starts its sleep, so the abort comes `ABORT_AFTER` or later
    // after it (taken after the spawn, the aborter's sleep may begin first).
    let started = Instant::now();
    let aborter = std::thread::spawn(move || {
        std::thread::sleep(ABORT_AFTER);
        handle.abort();
    });
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
    all_closed(&proxy);
    handle.abort();
    drop(rt);
}

/// Over TLS the stream stays a tokio one (no blocking I/O), polled on a runtime of its own
/// or on a shared one: the handle shuts the TCP socket under the TLS layer down, whose
/// readiness wakes the call wherever it waits. Named for the `tls-cluster` test group.
#[test]
fn an_abort_ends_a_stalled_call_on_a_tls_cluster() {
    let Some(cluster) = common::start_tls(1) else {
        eprintln!("skipped: native TLS needs go-dqlite >= 2.0 (DQLITE_SERVER_VERSION=1.18|latest)");
        return;
    };
    let cert = cluster.ca_cert_path().unwrap();
    let key = cluster.tls_key_path().unwrap();
    let tls = TlsConfig::from_pem_files(cert, Some((cert, key))).unwrap();
    let proxy = FaultProxy::start(cluster.addresses()[0].clone()).unwrap();

    // A read whose answer never comes, on a current-thread runtime (the blocking API's).
    let (rt, mut conn) = conn_through(&proxy, "abort-tls", Some(tls.clone()), false);
    assert!(!conn.use_blocking_io().unwrap());
    let handle = conn.abort_handle().unwrap();
    let err = aborted(&rt, &proxy, handle, conn.query_all("SELECT 1", &[]));
    assert_eq!(cause(&err), ErrorKind::Transport, "{err}");
    assert!(conn.is_broken());
    let again = rt.block_on(conn.query_all("SELECT 1", &[])).unwrap_err();
    assert_eq!(again.kind(), ErrorKind::Closed, "{again}");

    // A write in flight, on a multi-thread runtime (a shared background one). The
    // blackholed connection stays silent: a new one.
    proxy.set_fault(Fault::None);
    let (rt, mut conn) = conn_through(&proxy, "abort-tls", Some(tls.clone()), true);
    let handle = conn.abort_handle().unwrap();
    let call = conn.execute("INSERT INTO t VALUES (1)", &[]);
    let err = aborted(&rt, &proxy, handle, call);
    assert!(matches!(err, Error::OutcomeUnknown { .. }), "{err}");
    assert!(conn.is_broken());
    drop((conn, rt));

    // The handle holds the socket weakly, its second descriptor included.
    proxy.set_fault(Fault::None);
    let (rt, conn) = conn_through(&proxy, "abort-tls", Some(tls), false);
    let handle = conn.abort_handle().unwrap();
    drop(conn);
    all_closed(&proxy);
    handle.abort();
    drop(rt);
}
