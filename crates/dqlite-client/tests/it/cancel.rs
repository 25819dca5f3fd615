//! Cancelled futures and deadlines: a connection is either in sync or discarded.

use std::time::{Duration, Instant};

use dqlite_client::{ErrorKind, Pool, PoolOptions, Value};

use crate::common;

const BIG: &str = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c \
                   WHERE x < 200000) SELECT x, printf('%030d', x) FROM c";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_query_never_desynchronises_the_connection() {
    let cluster = common::start(1);
    let mut conn = common::client(&cluster, "cancel").connect().await.unwrap();
    // Cut the same query off at many different points.
    for micros in [1, 50, 200, 1_000, 5_000, 20_000] {
        let cut =
            tokio::time::timeout(Duration::from_micros(micros), conn.query_all(BIG, &[])).await;
        if cut.is_ok() {
            continue;
        }
        if conn.is_broken() {
            // Discarded: it refuses use with a clear error rather than reading stale
            // frames.
            let err = conn.query_all("SELECT 1", &[]).await.unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Closed, "{err}");
            conn = common::client(&cluster, "cancel").connect().await.unwrap();
        }
        let one = conn.query_all("SELECT 1", &[]).await.unwrap();
        assert_eq!(one.rows[0].values(), [Value::Integer(1)]);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pool_discards_connections_cut_off_mid_request() {
    let cluster = common::start(1);
    let pool = Pool::new(
        common::client(&cluster, "pool-cancel"),
        PoolOptions::default().max_size(2),
    );
    for micros in [10, 500, 3_000] {
        let mut conn = pool.get().await.unwrap();
        let _ = tokio::time::timeout(Duration::from_micros(micros), conn.query_all(BIG, &[])).await;
        drop(conn);
        // Whatever state it was left in, the next checkout answers correctly.
        let mut conn = pool.get().await.unwrap();
        let one = conn.query_all("SELECT 42", &[]).await.unwrap();
        assert_eq!(one.rows[0].values(), [Value::Integer(42)]);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paused_leader_fails_calls_by_their_deadline() {
    let mut cluster = common::start(3);
    let config = common::config(&cluster, "pause").request_timeout(Duration::from_secs(1));
    let mut conn = dqlite_client::Cluster::new(config).connect().await.unwrap();
    conn.execute("CREATE TABLE t (n)", &[]).await.unwrap();
    let leader = cluster.leader().expect("a leader");
    cluster.pause(leader).unwrap();
    for sql in ["INSERT INTO t VALUES (1)", "SELECT * FROM t"] {
        let started = Instant::now();
        let err = if sql.starts_with("SELECT") {
            conn.query_all(sql, &[]).await.map(drop).unwrap_err()
        } else {
            conn.execute(sql, &[]).await.map(drop).unwrap_err()
        };
        let took = started.elapsed();
        // The first call times out; the second finds the connection broken at once.
        assert!(
            took < Duration::from_millis(1_500),
            "{sql}: returned after {took:?}: {err}"
        );
        assert!(
            matches!(
                err.kind(),
                ErrorKind::Timeout | ErrorKind::OutcomeUnknown | ErrorKind::Closed
            ),
            "{err}"
        );
    }
    cluster.resume(leader).unwrap();
}

/// A blocking connection with table `t` created, its request deadline in seconds, and the
/// index of the leader it is connected to.
fn blocking_conn_on_leader(
    cluster: &dqlite_testkit::TestCluster,
    db: &str,
    deadline_secs: u64,
) -> (dqlite_client::blocking::Connection, usize) {
    let config = common::config(cluster, db).request_timeout(Duration::from_secs(deadline_secs));
    let mut conn = dqlite_client::blocking::Cluster::new(config)
        .unwrap()
        .connect()
        .unwrap();
    conn.execute("CREATE TABLE t (n)", &[]).unwrap();
    (conn, cluster.leader().expect("a leader"))
}

/// The blocking API reads with blocking socket calls in 50 ms slices: its deadlines must
/// hold all the same.
#[test]
fn a_paused_leader_fails_blocking_calls_by_their_deadline() {
    let mut cluster = common::start(3);
    let (mut conn, leader) = blocking_conn_on_leader(&cluster, "pause-blocking", 1);
    cluster.pause(leader).unwrap();
    let started = Instant::now();
    let err = conn
        .query_all("SELECT * FROM t", &[])
        .map(drop)
        .unwrap_err();
    let took = started.elapsed();
    assert!(
        took >= Duration::from_secs(1) && took < Duration::from_millis(1_500),
        "returned after {took:?}: {err}"
    );
    assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");
    // Broken by the cut-off: refused at once afterwards.
    let started = Instant::now();
    let err = conn.execute("INSERT INTO t VALUES (1)", &[]).unwrap_err();
    assert!(started.elapsed() < Duration::from_millis(100), "{err}");
    assert_eq!(err.kind(), ErrorKind::Closed, "{err}");
    cluster.resume(leader).unwrap();
}

/// A killed leader ends a blocking call at once (the blocking socket sees the reset or the
/// end of stream), with a transport error rather than a wait for the deadline.
#[test]
fn a_killed_leader_fails_blocking_calls_at_once() {
    let mut cluster = common::start(3);
    let (mut conn, leader) = blocking_conn_on_leader(&cluster, "kill-blocking", 10);
    cluster.kill(leader).unwrap();
    let started = Instant::now();
    let err = conn
        .query_all("SELECT * FROM t", &[])
        .map(drop)
        .unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "returned after {:?}: {err}",
        started.elapsed()
    );
    assert!(
        matches!(err.kind(), ErrorKind::Transport | ErrorKind::Closed),
        "{err}"
    );
    assert!(conn.as_async().is_broken());
}

/// Polls `call` for `wait`, expecting it still pending then.
async fn pending_after<F>(call: &mut F, wait: Duration)
where
    F: std::future::Future<Output: std::fmt::Debug> + Unpin,
{
    if let Ok(out) = tokio::time::timeout(wait, call).await {
        panic!("the call ended within {wait:?}: {out:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_in_flight_shows_a_request_waiting_for_its_answer() {
    use dqlite_testkit::proxy::{Fault, FaultProxy};

    let cluster = common::start(1);
    let proxy = FaultProxy::start(cluster.addresses()[0].clone()).unwrap();
    let address: dqlite_client::Address = proxy.address().parse().unwrap();
    let config = dqlite_client::Config::new([proxy.address()]).unwrap();
    let mut conn = dqlite_client::Connection::handshake(&address, &config)
        .await
        .unwrap();
    conn.open("in_flight").await.unwrap();
    conn.execute("CREATE TABLE t (n INTEGER)", &[])
        .await
        .unwrap();
    let in_flight = conn.request_in_flight();
    assert!(!in_flight.get());
    // 200 ms each way: every answer comes 0.4 s after its request left.
    proxy.set_fault(Fault::Latency(Duration::from_millis(200)));
    let wait = Duration::from_millis(100);

    // A write waiting for its answer; then done, and the connection in step.
    let mut write = Box::pin(conn.execute("INSERT INTO t VALUES (1)", &[]));
    pending_after(&mut write, wait).await;
    assert!(in_flight.get(), "a write waits for its answer");
    write.await.unwrap();
    assert!(!in_flight.get(), "answered");

    // A query's request is sent at once; its result's frames are read cancel-safely: not
    // a request in flight.
    {
        let mut query = Box::pin(conn.query("SELECT n FROM t", &[]));
        pending_after(&mut query, wait).await;
        assert!(!in_flight.get(), "reading a result's frame");
        let mut rows = query.await.unwrap();
        let row = rows.next().await.unwrap().unwrap();
        assert_eq!(row.values(), [Value::Integer(1)]);
        assert!(rows.next().await.unwrap().is_none());
    }

    // A pipelined batch with several answers due: cut off, it breaks the connection
    // whatever one answer does, so it is not shown.
    conn.execute("BEGIN", &[]).await.unwrap();
    let insert = conn.prepare("INSERT INTO t VALUES (?)").await.unwrap();
    let params: Vec<[Value; 1]> = (2..10).map(|n| [Value::Integer(n)]).collect();
    let mut batch = Box::pin(conn.execute_prepared_many(&insert, &params, 8));
    pending_after(&mut batch, wait).await;
    assert!(!in_flight.get(), "several answers due");
    batch.await.unwrap();
    conn.finalize(insert).await.unwrap();
    conn.execute("COMMIT", &[]).await.unwrap();

    // A request cut off while it waits: the connection is broken, and it stays shown.
    let mut cut = Box::pin(conn.execute("INSERT INTO t VALUES (10)", &[]));
    pending_after(&mut cut, wait).await;
    assert!(in_flight.get());
    drop(cut);
    assert!(conn.is_broken());
    assert!(in_flight.get());
    proxy.set_fault(Fault::None);
}

/// The membership read a new leader connection makes when it is due (a store's first
/// leader, or a new one) is bounded like any request. A leader that answers LEADER and
/// then goes silent fails the connect as what happened, a timeout (retryable, an
/// operational error in Python), not as a connection closed under the caller (which reads
/// as a misuse of the API).
#[test]
fn a_leader_silent_on_the_membership_read_fails_connect_as_a_timeout() {
    use dqlite_client::{Config, SharedNodeStore};
    use dqlite_testkit::fake::FakeNode;
    use dqlite_wire::Response;

    use crate::fake::frame;

    let node = FakeNode::start(|conn, address| {
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
                // CLUSTER: never answered.
                16 => {
                    conn.stall();
                    return Ok(());
                }
                other => return Err(std::io::Error::other(format!("request {other}"))),
            }
        }
    })
    .unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let config = Config::new([node.address()])
        .unwrap()
        .request_timeout(Duration::from_millis(300));
    let store = SharedNodeStore::new(config.seeds());
    let cluster = dqlite_client::Cluster::with_shared_store(config, store);
    let started = Instant::now();
    let err = rt.block_on(cluster.connect()).unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(3), "{err}");
    assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");
    assert!(err.is_node_lost(), "{err}");
}

/// A membership change (ADD, ASSIGN, REMOVE, TRANSFER, WEIGHT) is a write to the cluster's
/// configuration: once its request left whole, a deadline or a broken link leaves it in
/// doubt, as for a statement. Reported as a plain timeout or transport error, it would
/// read as "not applied" (and retry helpers, which never retry a write in doubt, would
/// send it again).
#[test]
fn a_membership_change_cut_off_after_it_was_sent_is_in_doubt() {
    use dqlite_client::{Config, Connection, Role};
    use dqlite_testkit::fake::FakeNode;
    use dqlite_wire::Response;

    use crate::fake::frame;

    type Change = for<'a> fn(
        &'a mut Connection,
    ) -> std::pin::Pin<
        Box<dyn std::future::Future<Output = dqlite_client::Result<()>> + 'a>,
    >;
    let changes: [(&str, Change); 5] = [
        ("add", |c| Box::pin(c.add_node(4, "127.0.0.1:1"))),
        ("assign", |c| Box::pin(c.assign_role(4, Role::Voter))),
        // Unchecked: the checked call reads the membership first.
        ("remove", |c| Box::pin(c.remove_node_unchecked(4))),
        ("transfer", |c| Box::pin(c.transfer_leadership(Some(2)))),
        ("weight", |c| Box::pin(c.set_weight(3))),
    ];
    // The node reads the change and then goes silent (`stall`), or closes the link.
    for stall in [true, false] {
        let node = FakeNode::start(move |conn, address| {
            conn.read_handshake()?;
            loop {
                match conn.read_request()? {
                    0 => conn.write(&frame(&Response::Server {
                        id: 1,
                        address: address.into(),
                    }))?,
                    12..=14 | 17 | 19 if stall => {
                        conn.stall();
                        return Ok(());
                    }
                    12..=14 | 17 | 19 => return Ok(()),
                    other => return Err(std::io::Error::other(format!("request {other}"))),
                }
            }
        })
        .unwrap();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        for (name, change) in changes {
            let config = Config::new([node.address()])
                .unwrap()
                .request_timeout(Duration::from_millis(300));
            let err = rt
                .block_on(async {
                    let mut conn = dqlite_client::Cluster::new(config)
                        .connect_leader()
                        .await
                        .unwrap();
                    let err = change(&mut conn).await.unwrap_err();
                    assert!(conn.is_broken(), "{name}: {err}");
                    Ok::<_, ()>(err)
                })
                .unwrap();
            assert_eq!(
                err.kind(),
                ErrorKind::OutcomeUnknown,
                "{name} (stall {stall}): {err}"
            );
        }
    }
}

/// A batch dropped between two of its requests (at one of the turns it gives its caller)
/// leaves the connection in step, and still usable: the statement it prepared must not
/// stay prepared on the node for the connection's whole life. It is finalized before the
/// connection's next request.
#[test]
fn a_batch_dropped_between_requests_finalizes_its_statement_before_the_next() {
    use std::sync::{Arc, Mutex};
    use std::task::Poll;

    use dqlite_client::Connection;
    use dqlite_testkit::fake::FakeNode;
    use dqlite_wire::{Response, request_type as rt};

    use crate::fake::{frame, lead, on_connection};

    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&seen);
    let node = FakeNode::start(move |conn, address| {
        lead(conn, address)?;
        loop {
            let kind = conn.read_request()?;
            log.lock().unwrap().push(kind);
            let answer = match kind {
                rt::PREPARE => Response::Stmt {
                    db_id: 0,
                    stmt_id: 7,
                    param_count: 1,
                    tail_offset: None,
                },
                rt::EXEC | rt::EXEC_SQL => {
                    // Slow enough that the batch gives its caller a turn between rows.
                    std::thread::sleep(Duration::from_millis(30));
                    Response::Result {
                        last_insert_id: 1,
                        rows_affected: 1,
                    }
                }
                rt::FINALIZE => Response::Empty,
                other => return Err(std::io::Error::other(format!("request {other}"))),
            };
            conn.write(&frame(&answer))?;
        }
    })
    .unwrap();
    on_connection(
        &node,
        Duration::from_secs(5),
        async |conn: &mut Connection| {
            let in_flight = conn.request_in_flight();
            let rows: Vec<[Value; 1]> = (0..100).map(|n| [Value::Integer(n)]).collect();
            {
                let mut batch =
                    std::pin::pin!(conn.execute_many("INSERT INTO t VALUES (?)", &rows, 1));
                // Polled until it waits with no request in flight: a turn between two rows.
                std::future::poll_fn(|cx| match batch.as_mut().poll(cx) {
                    Poll::Ready(out) => panic!("the batch ended: {out:?}"),
                    Poll::Pending if in_flight.get() => Poll::Pending,
                    Poll::Pending => Poll::Ready(()),
                })
                .await;
            }
            assert!(conn.is_reusable());
            conn.execute("INSERT INTO t VALUES (1)", &[]).await.unwrap();
        },
    );
    let seen = seen.lock().unwrap().clone();
    let finalize = seen.iter().position(|&k| k == rt::FINALIZE);
    let next = seen.iter().position(|&k| k == rt::EXEC_SQL);
    assert!(
        finalize.is_some() && finalize < next,
        "the statement was not finalized before the next request: {seen:?}"
    );
}
