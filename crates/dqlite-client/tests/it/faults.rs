//! Network faults between the client and a real node, injected by the test kit's TCP fault
//! proxy: latency, a reset in the middle of a request and of a result, a frame truncated by
//! a close, a blackhole, and a reset of every idle connection. Each fault ends the call
//! with a typed error by its deadline (never a hang, never a panic), the connection that
//! saw it reports itself broken and is never handed out again, and the pool serves
//! working connections once the fault is cleared.
//!
//! Leader discovery and the proxy: a node reports its own address as leader, and the
//! client accepts a leader only when that address is the one it dialed. A client seeded
//! with the proxy's address would follow that redirect straight to the node. Two ways
//! around it are used here, on a 1-node cluster:
//! * single connections are opened directly through the proxy (`Connection::handshake`,
//!   then `open`), with no leader discovery;
//! * pools and `Cluster::connect` go through a proxy with `advertise_self(true)`, which
//!   rewrites the node's address into the proxy's in LEADER answers, so that discovery
//!   settles on the proxy.

use std::future::Future;
use std::time::{Duration, Instant};

use dqlite_client::{Address, Cluster, Config, Connection, Error, ErrorKind, Pool, PoolOptions};
use dqlite_client::{Row, Value};
use dqlite_testkit::TestCluster;
use dqlite_testkit::proxy::{Fault, FaultProxy};

use crate::common;
use crate::fake::on_connection;

/// Request deadline of every connection in these tests.
const REQUEST: Duration = Duration::from_millis(1_000);
/// Leader discovery deadline.
const CONNECT: Duration = Duration::from_millis(3_000);
/// What a call may take past its deadline (scheduling on a busy 2-core machine).
const MARGIN: Duration = Duration::from_millis(500);

/// 30,000 rows of about 45 bytes: a result of many frames.
const BIG: &str = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c \
                   WHERE x < 30000) SELECT x, printf('%030d', x) FROM c";

fn config(proxy: &FaultProxy, db: &str) -> Config {
    Config::new([proxy.address()])
        .unwrap()
        .database(db)
        .request_timeout(REQUEST)
        .connect_timeout(CONNECT)
        .backoff(Duration::from_millis(50), Duration::from_millis(200))
}

/// A 1-node cluster with a fault proxy in front of it; `advertise` makes the proxy pass
/// itself off as the leader (for pools and `Cluster::connect`).
fn setup(advertise: bool) -> (TestCluster, FaultProxy) {
    let cluster = common::start(1);
    let proxy = FaultProxy::start(cluster.addresses()[0].clone()).unwrap();
    proxy.advertise_self(advertise);
    (cluster, proxy)
}

/// A connection through the proxy with database `db` open, no leader discovery.
async fn direct(proxy: &FaultProxy, db: &str) -> Connection {
    let address: Address = proxy.address().parse().unwrap();
    let mut conn = Connection::handshake(&address, &config(proxy, db))
        .await
        .unwrap();
    conn.open(db).await.unwrap();
    conn
}

/// Runs `call`, failing the test if it has not returned `limit` after it started; returns
/// its output and how long it took.
async fn bounded<T>(what: &str, limit: Duration, call: impl Future<Output = T>) -> (T, Duration) {
    let started = Instant::now();
    match tokio::time::timeout(limit, call).await {
        Ok(out) => (out, started.elapsed()),
        Err(_) => panic!("{what}: still running after {limit:?} (a hang)"),
    }
}

/// The kind of the error, looking inside `OutcomeUnknown`.
fn cause(e: &Error) -> ErrorKind {
    match e {
        Error::OutcomeUnknown { source } => source.kind(),
        other => other.kind(),
    }
}

fn ints(rows: &[Row]) -> Vec<i64> {
    rows.iter()
        .map(|r| match r.values().first() {
            Some(Value::Integer(n)) => *n,
            other => panic!("unexpected value {other:?}"),
        })
        .collect()
}

/// Reads `BIG` row by row until it fails; returns the error and the rows read before it,
/// which must be exactly 1, 2, ... (never a partial or garbled row).
async fn read_big_until_error(conn: &mut Connection) -> (Error, usize) {
    let mut expected = 1i64;
    let outcome = async {
        let mut rows = conn.query(BIG, &[]).await?;
        while let Some(row) = rows.next().await? {
            assert_eq!(
                row.values(),
                [
                    Value::Integer(expected),
                    Value::Text(format!("{expected:030}"))
                ]
            );
            expected += 1;
        }
        Ok::<_, Error>(())
    }
    .await;
    match outcome {
        Ok(()) => panic!("the whole result arrived despite the fault"),
        Err(e) => (e, usize::try_from(expected - 1).unwrap()),
    }
}

/// After the fault is cleared, the connection that saw it still refuses use, and a fresh
/// one through the same proxy works.
async fn assert_broken_then_fresh_works(proxy: &FaultProxy, conn: &mut Connection, db: &str) {
    assert!(
        conn.is_broken(),
        "a connection that saw a fault must be broken"
    );
    assert!(!conn.is_reusable());
    proxy.clear();
    let (again, took) = bounded("use after break", MARGIN, conn.query_all("SELECT 1", &[])).await;
    let err = again.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Closed, "{err}");
    assert!(
        took < Duration::from_millis(50),
        "{took:?}: it went to the network"
    );
    let mut fresh = direct(proxy, db).await;
    let one = fresh.query_all("SELECT 1", &[]).await.unwrap();
    assert_eq!(one.rows[0].values(), [Value::Integer(1)]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn proxy_latency_within_the_deadline_succeeds_beyond_it_times_out() {
    let (_cluster, proxy) = setup(false);
    let mut conn = direct(&proxy, "latency").await;
    conn.execute("CREATE TABLE t (n INTEGER)", &[])
        .await
        .unwrap();

    // 150 ms each way: a round trip takes 300 ms, well within the 1 s deadline.
    proxy.set_fault(Fault::Latency(Duration::from_millis(150)));
    let (done, took) = bounded(
        "slow insert",
        REQUEST + MARGIN,
        conn.execute("INSERT INTO t VALUES (1)", &[]),
    )
    .await;
    assert_eq!(done.unwrap().rows_affected, 1);
    assert!(took >= Duration::from_millis(300), "{took:?}");
    // A result of several frames, streamed: each frame waits, none past the deadline
    // (each `next` is a call of its own; `query_all` would be bounded as a whole).
    let small = BIG.replace("30000", "2000");
    let (rows, _) = bounded("slow query", 10 * REQUEST, async {
        let mut rows = conn.query(&small, &[]).await?;
        let mut all = Vec::new();
        while let Some(row) = rows.next().await? {
            all.push(row);
        }
        Ok::<_, Error>(all)
    })
    .await;
    assert_eq!(ints(&rows.unwrap()).last(), Some(&2_000));

    // 700 ms each way: past the deadline. A read times out; a write is in doubt.
    proxy.set_fault(Fault::Latency(Duration::from_millis(700)));
    let (err, took) = bounded(
        "too slow",
        REQUEST + MARGIN,
        conn.query_all("SELECT 1", &[]),
    )
    .await;
    let err = err.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");
    assert!(took >= REQUEST, "{took:?}");
    assert_broken_then_fresh_works(&proxy, &mut conn, "latency").await;

    let mut conn = direct(&proxy, "latency").await;
    proxy.set_fault(Fault::Latency(Duration::from_millis(700)));
    let (err, _) = bounded(
        "too slow write",
        REQUEST + MARGIN,
        conn.execute("INSERT INTO t VALUES (2)", &[]),
    )
    .await;
    let err = err.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::OutcomeUnknown, "{err}");
    assert_eq!(cause(&err), ErrorKind::Timeout, "{err}");
    assert_broken_then_fresh_works(&proxy, &mut conn, "latency").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn proxy_reset_mid_request_is_a_transport_error_and_nothing_ran() {
    let (_cluster, proxy) = setup(false);
    let mut conn = direct(&proxy, "reset-req").await;
    conn.execute("CREATE TABLE t (n INTEGER)", &[])
        .await
        .unwrap();

    // A write cut after 12 of its bytes: the node never saw a whole request, but the
    // client cannot know that, so it reports the outcome as unknown.
    proxy.set_fault(Fault::ResetAfterClientBytes(12));
    let (err, took) = bounded(
        "write cut mid-request",
        REQUEST + MARGIN,
        conn.execute("INSERT INTO t VALUES (1)", &[]),
    )
    .await;
    let err = err.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::OutcomeUnknown, "{err}");
    assert_eq!(cause(&err), ErrorKind::Transport, "{err}");
    assert!(
        took < REQUEST,
        "a reset is seen at once, not by the deadline: {took:?}"
    );
    assert_broken_then_fresh_works(&proxy, &mut conn, "reset-req").await;

    // A read cut the same way is a plain transport error.
    let mut conn = direct(&proxy, "reset-req").await;
    proxy.set_fault(Fault::ResetAfterClientBytes(12));
    let (err, _) = bounded(
        "query cut mid-request",
        REQUEST + MARGIN,
        conn.query_all("SELECT count(*) FROM t", &[]),
    )
    .await;
    assert_eq!(err.unwrap_err().kind(), ErrorKind::Transport);
    assert_broken_then_fresh_works(&proxy, &mut conn, "reset-req").await;

    // So is a prepare.
    let mut conn = direct(&proxy, "reset-req").await;
    proxy.set_fault(Fault::ResetAfterClientBytes(3));
    let (err, _) = bounded(
        "prepare cut mid-request",
        REQUEST + MARGIN,
        conn.prepare("SELECT n FROM t"),
    )
    .await;
    assert_eq!(err.unwrap_err().kind(), ErrorKind::Transport);
    assert_broken_then_fresh_works(&proxy, &mut conn, "reset-req").await;

    // The cut write never ran.
    let mut conn = direct(&proxy, "reset-req").await;
    let rows = conn.query_all("SELECT count(*) FROM t", &[]).await.unwrap();
    assert_eq!(rows.rows[0].values(), [Value::Integer(0)]);
    assert!(proxy.stats().resets >= 3, "{:?}", proxy.stats());
}

/// A connection the node reset while it sat idle: the next write cannot leave, so it is a
/// plain transport error (definitely not applied), not an outcome in doubt.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn proxy_reset_before_a_write_is_a_definite_failure() {
    let (_cluster, proxy) = setup(false);
    let mut conn = direct(&proxy, "reset-idle").await;
    conn.execute("CREATE TABLE t (n INTEGER)", &[])
        .await
        .unwrap();
    proxy.reset_all();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let (err, _) = bounded(
        "write on a reset connection",
        REQUEST + MARGIN,
        conn.execute("INSERT INTO t VALUES (1)", &[]),
    )
    .await;
    let err = err.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Transport, "{err}");
    assert_broken_then_fresh_works(&proxy, &mut conn, "reset-idle").await;
    let mut conn = direct(&proxy, "reset-idle").await;
    let rows = conn.query_all("SELECT count(*) FROM t", &[]).await.unwrap();
    assert_eq!(rows.rows[0].values(), [Value::Integer(0)]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn proxy_reset_mid_result_hands_out_only_whole_rows() {
    let (_cluster, proxy) = setup(false);
    for cut in [0u64, 7, 5_000, 100_000] {
        let mut conn = direct(&proxy, "reset-rows").await;
        proxy.set_fault(Fault::ResetAfterServerBytes(cut));
        let ((err, rows), _) = bounded(
            "result cut by a reset",
            REQUEST + MARGIN,
            read_big_until_error(&mut conn),
        )
        .await;
        assert_eq!(err.kind(), ErrorKind::Transport, "cut at {cut}: {err}");
        assert!(rows < 30_000);
        if cut >= 100_000 {
            assert!(rows > 1_000, "cut at {cut}: only {rows} rows");
        }
        assert_broken_then_fresh_works(&proxy, &mut conn, "reset-rows").await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn proxy_truncation_mid_frame_is_a_transport_error() {
    let (_cluster, proxy) = setup(false);
    let mut conn = direct(&proxy, "truncate").await;
    conn.execute("CREATE TABLE t (n INTEGER)", &[])
        .await
        .unwrap();

    // Inside the header of the first response frame, then inside its body.
    for cut in [3u64, 12] {
        let mut conn = direct(&proxy, "truncate").await;
        proxy.set_fault(Fault::CloseAfterServerBytes(cut));
        let (err, took) = bounded(
            "truncated answer",
            REQUEST + MARGIN,
            conn.query_all("SELECT 1", &[]),
        )
        .await;
        let err = err.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Transport, "cut at {cut}: {err}");
        assert!(took < REQUEST, "a close is seen at once: {took:?}");
        assert_broken_then_fresh_works(&proxy, &mut conn, "truncate").await;
    }

    // The RESULT of a write, truncated: the write ran, the client cannot know it.
    proxy.set_fault(Fault::CloseAfterServerBytes(9));
    let (err, _) = bounded(
        "truncated write answer",
        REQUEST + MARGIN,
        conn.execute("INSERT INTO t VALUES (1)", &[]),
    )
    .await;
    let err = err.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::OutcomeUnknown, "{err}");
    assert_eq!(cause(&err), ErrorKind::Transport, "{err}");
    assert_broken_then_fresh_works(&proxy, &mut conn, "truncate").await;

    // In the middle of a many-frame result.
    let mut conn = direct(&proxy, "truncate").await;
    proxy.set_fault(Fault::CloseAfterServerBytes(70_001));
    let ((err, rows), _) = bounded(
        "truncated result",
        REQUEST + MARGIN,
        read_big_until_error(&mut conn),
    )
    .await;
    assert_eq!(err.kind(), ErrorKind::Transport, "{err}");
    assert!(rows > 0 && rows < 30_000, "{rows}");
    assert_broken_then_fresh_works(&proxy, &mut conn, "truncate").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn proxy_blackhole_fails_every_call_by_its_deadline() {
    let (_cluster, proxy) = setup(true);
    let cluster = Cluster::new(config(&proxy, "blackhole"));
    let pool = Pool::new(
        cluster.clone(),
        PoolOptions::default()
            .max_size(2)
            .acquire_timeout(CONNECT + REQUEST),
    );
    pool.execute("CREATE TABLE t (n INTEGER)", &[])
        .await
        .unwrap();
    let mut conn = pool.get().await.unwrap();
    assert_eq!(
        conn.address().to_string(),
        proxy.address(),
        "discovery settled on the proxy"
    );

    proxy.set_fault(Fault::Blackhole);
    // An open connection: the request goes nowhere and the deadline ends it.
    let (err, took) = bounded(
        "blackholed query",
        REQUEST + MARGIN,
        conn.query_all("SELECT 1", &[]),
    )
    .await;
    let err = err.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");
    assert!(took >= REQUEST, "{took:?}");
    assert!(conn.is_broken());
    drop(conn);
    assert_eq!(
        pool.stats().open,
        0,
        "the broken connection was closed, not pooled"
    );

    // A new connection: accepted, never answered. Discovery gives up by its deadline.
    let (err, took) = bounded(
        "connect into a blackhole",
        CONNECT + REQUEST + MARGIN,
        cluster.connect(),
    )
    .await;
    let err = err.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NoLeader, "{err}");
    assert!(took >= CONNECT - REQUEST, "{took:?}");
    // So does the pool, by its acquire deadline.
    let (err, _) = bounded(
        "pool.get into a blackhole",
        CONNECT + 2 * REQUEST + MARGIN,
        pool.get(),
    )
    .await;
    let err = err.unwrap_err();
    assert!(
        matches!(err.kind(), ErrorKind::NoLeader | ErrorKind::Timeout),
        "{err}"
    );
    // A raw handshake succeeds (the proxy accepts) but the first request times out.
    let address: Address = proxy.address().parse().unwrap();
    let mut raw = Connection::handshake(&address, &config(&proxy, "blackhole"))
        .await
        .unwrap();
    let (err, _) = bounded("LEADER into a blackhole", REQUEST + MARGIN, raw.leader()).await;
    assert_eq!(err.unwrap_err().kind(), ErrorKind::Timeout);

    // Cleared: the pool recovers at once.
    proxy.clear();
    let (rows, _) = bounded(
        "after the blackhole",
        CONNECT + MARGIN,
        pool.query_all("SELECT count(*) FROM t", &[]),
    )
    .await;
    assert_eq!(rows.unwrap().rows[0].values(), [Value::Integer(0)]);
    assert!(pool.stats().open <= 2);
}

/// A pool whose connections all die while idle (the proxy resets them, as a restarted
/// node or a middlebox would): the next checkout still works.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn proxy_reset_of_idle_pooled_connections_is_survived() {
    let (_cluster, proxy) = setup(true);
    let pool = Pool::new(
        Cluster::new(config(&proxy, "idle-reset")),
        PoolOptions::default().max_size(3),
    );
    pool.execute("CREATE TABLE t (n INTEGER)", &[])
        .await
        .unwrap();
    for round in 0..3 {
        // Three connections open and idle.
        {
            let mut held = Vec::new();
            for _ in 0..3 {
                held.push(pool.get().await.unwrap());
            }
            for conn in &mut held {
                conn.execute("INSERT INTO t VALUES (1)", &[]).await.unwrap();
            }
        }
        assert_eq!(pool.stats().open, 3, "round {round}");
        assert_eq!(pool.stats().idle, 3, "round {round}");
        proxy.reset_all();
        tokio::time::sleep(Duration::from_millis(100)).await;
        // The very next checkout works: dead idle connections are not handed out.
        let (result, _) = bounded(
            "first use after the reset",
            REQUEST + CONNECT + MARGIN,
            async {
                let mut conn = pool.get().await?;
                conn.execute("INSERT INTO t VALUES (2)", &[]).await
            },
        )
        .await;
        assert_eq!(result.unwrap().rows_affected, 1, "round {round}");
        assert!(pool.stats().open <= 3);
    }
    let rows = pool
        .query_all("SELECT n, count(*) FROM t GROUP BY n ORDER BY n", &[])
        .await
        .unwrap();
    assert_eq!(
        rows.rows
            .iter()
            .map(|r| r.values().to_vec())
            .collect::<Vec<_>>(),
        [
            vec![Value::Integer(1), Value::Integer(9)],
            vec![Value::Integer(2), Value::Integer(3)]
        ]
    );
}

/// Faults on pooled connections in use: each failing connection is discarded (the pool
/// counts it closed), and once the fault is cleared the next checkout works.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn proxy_faults_under_a_pool_never_reuse_a_broken_connection() {
    let (_cluster, proxy) = setup(true);
    let pool = Pool::new(
        Cluster::new(config(&proxy, "pool-faults")),
        PoolOptions::default()
            .max_size(2)
            .acquire_timeout(CONNECT + REQUEST),
    );
    pool.execute("CREATE TABLE t (n INTEGER)", &[])
        .await
        .unwrap();
    let faults = [
        Fault::ResetAfterClientBytes(5),
        Fault::ResetAfterServerBytes(20_000),
        Fault::CloseAfterServerBytes(30_001),
        Fault::Latency(Duration::from_millis(1_200)),
        Fault::Blackhole,
    ];
    for fault in faults {
        let mut conn = pool.get().await.unwrap();
        assert_eq!(pool.stats().open, 1, "{fault:?}");
        proxy.set_fault(fault);
        let ((err, _), took) = bounded(
            "pooled query under a fault",
            REQUEST + MARGIN,
            read_big_until_error(&mut conn),
        )
        .await;
        assert!(
            matches!(err.kind(), ErrorKind::Transport | ErrorKind::Timeout),
            "{fault:?}: {err}"
        );
        assert!(took <= REQUEST + MARGIN, "{fault:?}: {took:?}");
        assert!(conn.is_broken(), "{fault:?}");
        drop(conn);
        assert_eq!(
            pool.stats().open,
            0,
            "{fault:?}: a broken connection went back"
        );
        assert_eq!(pool.stats().idle, 0, "{fault:?}");
        proxy.clear();
        let mut conn = pool.get().await.unwrap();
        let rows = conn.query_all(BIG, &[]).await.unwrap();
        assert_eq!(ints(&rows.rows).last(), Some(&30_000), "{fault:?}");
        drop(conn);
        assert_eq!(
            pool.stats().idle,
            1,
            "{fault:?}: a healthy connection is kept"
        );
        // Retire it so the next fault hits a fresh connection.
        pool.retire_all();
    }
}

/// `INSERT ... RETURNING` goes through QUERY: a connection lost after it was sent leaves
/// the write in doubt, before its first row and between frames alike. (No real server of
/// ours takes it: RETURNING needs dqlite 1.18.2; a fake node plays one.)
#[test]
fn fake_node_returning_write_cut_after_sending_is_in_doubt() {
    use bytes::BytesMut;
    use dqlite_testkit::fake::FakeNode;
    use dqlite_wire::{Response, RowsEnd, RowsFrame};

    fn frame(response: &Response) -> Vec<u8> {
        let mut out = BytesMut::new();
        response.encode(&mut out).unwrap();
        out.to_vec()
    }
    for rows_before_cut in [0usize, 1] {
        let node = FakeNode::start(move |conn, address| {
            conn.read_handshake()?;
            conn.read_request()?; // LEADER
            conn.write(&frame(&Response::Server {
                id: 1,
                address: address.into(),
            }))?;
            conn.read_request()?; // OPEN
            conn.write(&frame(&Response::Db { db_id: 0 }))?;
            // The capability probe (QUERY_SQL with a value too many), answered as the
            // executor of 1.18.2 and later answers it.
            conn.read_request()?;
            conn.write(&frame(&Response::Failure {
                code: 10,
                message: "leader exec failed".into(),
            }))?;
            conn.read_request()?; // QUERY_SQL with the INSERT
            for n in 0..rows_before_cut {
                let part =
                    RowsFrame::build(&["id"], &[vec![Value::Integer(n as i64)]], RowsEnd::Part)
                        .unwrap();
                conn.write(&frame(&Response::Rows(part)))?;
            }
            Ok(()) // closes the connection
        })
        .unwrap();
        on_connection(&node, REQUEST, async |conn| {
            let err = conn
                .query_all("INSERT INTO t (v) VALUES (1) RETURNING id", &[])
                .await
                .unwrap_err();
            assert_eq!(
                err.kind(),
                ErrorKind::OutcomeUnknown,
                "{rows_before_cut}: {err}"
            );
            assert_eq!(cause(&err), ErrorKind::Transport, "{err}");
            assert!(conn.is_broken());
        });
    }
}

/// A batch whose row failed on the server, then lost its connection before the answers of
/// the rows in flight behind it came: the failed row is the one reported (the doc's "first
/// failure"), not the first row without an answer, which would pass the failed row off as
/// applied.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_cut_after_a_failed_row_reports_that_row() {
    let (_cluster, proxy) = setup(false);
    let mut conn = direct(&proxy, "batch-cut").await;
    conn.execute("CREATE TABLE b (n INTEGER PRIMARY KEY)", &[])
        .await
        .unwrap();
    conn.execute("INSERT INTO b VALUES (5)", &[]).await.unwrap();
    let insert = conn.prepare("INSERT INTO b VALUES (?)").await.unwrap();
    let rows: Vec<[Value; 1]> = (0..32).map(|n| [Value::Integer(n)]).collect();
    // RESULT answers are 24 bytes; row 5's FAILURE is under 130: the connection closes
    // after row 5's answer and a few more, before the last row's.
    proxy.set_fault(Fault::CloseAfterServerBytes(5 * 24 + 130));
    let (err, _) = bounded(
        "a batch cut after a failed row",
        REQUEST + MARGIN,
        conn.execute_prepared_many(&insert, &rows, 32),
    )
    .await;
    let err = err.unwrap_err();
    match &err {
        Error::Batch { row, source } => {
            assert_eq!(*row, 5, "{err}");
            assert_eq!(source.kind(), ErrorKind::Constraint, "{err}");
        }
        other => panic!("expected a batch error, got {other}"),
    }
    assert_broken_then_fresh_works(&proxy, &mut conn, "batch-cut").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_whose_finalize_is_cut_off_reports_its_rows() {
    let (_cluster, proxy) = setup(false);
    let mut conn = direct(&proxy, "batch-finalize").await;
    conn.execute("CREATE TABLE t (n INTEGER PRIMARY KEY)", &[])
        .await
        .unwrap();
    let rows: Vec<[Value; 1]> = (1..=3).map(|n| [Value::Integer(n)]).collect();
    // The STMT answer and the three RESULTs (24 bytes each) get through; the link closes
    // before the answer to the FINALIZE that follows them.
    proxy.set_fault(Fault::CloseAfterServerBytes(4 * 24));
    let (done, _) = bounded(
        "batch with its finalize cut off",
        REQUEST + MARGIN,
        conn.execute_many("INSERT INTO t VALUES (?)", &rows, 1),
    )
    .await;
    proxy.clear();
    // Every row was answered: the batch ran, whatever became of the FINALIZE.
    let done = done.unwrap();
    assert_eq!(done.rows_affected, 3);
    assert!(conn.is_broken());
    let mut fresh = direct(&proxy, "batch-finalize").await;
    let count = fresh
        .query_all("SELECT count(*) FROM t", &[])
        .await
        .unwrap();
    assert_eq!(count.rows[0].values(), [Value::Integer(3)]);

    // A row that fails stays the batch's error, with its index.
    let rows: Vec<[Value; 1]> = [4, 1, 5].map(|n| [Value::Integer(n)]).to_vec();
    // STMT, RESULT, then a FAILURE of 48 bytes ("UNIQUE constraint failed: t.n").
    proxy.set_fault(Fault::CloseAfterServerBytes(24 * 2 + 48));
    let (failed, _) = bounded(
        "failed batch with its finalize cut off",
        REQUEST + MARGIN,
        fresh.execute_many("INSERT INTO t VALUES (?)", &rows, 1),
    )
    .await;
    proxy.clear();
    match failed.unwrap_err() {
        Error::Batch { row, source } => {
            assert_eq!(row, 1);
            assert_eq!(source.kind(), ErrorKind::Constraint, "{source}");
        }
        other => panic!("expected the batch's error, got {other}"),
    }
}
