//! One deadline per call (issue 13, defect 7): a call's request timeout bounds the whole
//! call, the drain of an abandoned result, a pending ROLLBACK and its own request
//! together, and every frame of a result collected by `query_all`; not each network wait
//! alone. The fault proxy adds latency in front of a real node, so that each wait fits in
//! the deadline but their sum does not.

use std::time::{Duration, Instant};

use dqlite_client::{Address, Config, Connection, Error, ErrorKind, Value};
use dqlite_testkit::proxy::{Fault, FaultProxy};

use crate::common;

/// The request deadline of these connections.
const REQUEST: Duration = Duration::from_millis(1_500);
/// What a call may take past its deadline (scheduling on a busy machine).
const MARGIN: Duration = Duration::from_millis(500);

/// A result of a few frames (about 45 KB), abandoned after its first row.
const SOME: &str = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c \
                    WHERE x < 1000) SELECT x, printf('%030d', x) FROM c";

/// 10,000 rows of about 45 bytes.
const MEDIUM: &str = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c \
                      WHERE x < 10000) SELECT x, printf('%030d', x) FROM c";

/// 30,000 rows of about 45 bytes: a result of many frames.
const BIG: &str = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c \
                   WHERE x < 30000) SELECT x, printf('%030d', x) FROM c";

async fn through(proxy: &FaultProxy, db: &str) -> Connection {
    let address: Address = proxy.address().parse().unwrap();
    let config = Config::new([proxy.address()])
        .unwrap()
        .request_timeout(REQUEST);
    let mut conn = Connection::handshake(&address, &config).await.unwrap();
    conn.open(db).await.unwrap();
    conn
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_drain_a_pending_rollback_and_the_request_share_one_deadline() {
    let cluster = common::start(1);
    let proxy = FaultProxy::start(cluster.addresses()[0].clone()).unwrap();
    let mut conn = through(&proxy, "deadlines").await;
    conn.execute("CREATE TABLE t (n INTEGER)", &[])
        .await
        .unwrap();

    // A transaction dropped unfinished with a result half-read inside it: the next call
    // drains the result (INTERRUPT until EMPTY), rolls back, then sends its own request.
    {
        let mut tx = conn.transaction().await.unwrap();
        tx.execute("INSERT INTO t VALUES (1)", &[]).await.unwrap();
        let mut rows = tx.query(SOME, &[]).await.unwrap();
        rows.next().await.unwrap().unwrap();
        assert!(!rows.is_done(), "the result must span several frames");
    }
    // Each of the three round trips takes about 0.6 s, within the 1.5 s deadline; the
    // three together do not.
    proxy.set_fault(Fault::Latency(Duration::from_millis(300)));
    let started = Instant::now();
    let err = conn
        .execute("INSERT INTO t VALUES (2)", &[])
        .await
        .map(|_| "the call outlived its deadline and succeeded")
        .unwrap_err();
    let took = started.elapsed();
    // The deadline ends the call wherever it falls: in the drain or the ROLLBACK (a
    // plain timeout: the INSERT never left), or once the INSERT was sent (in doubt).
    let cause = match &err {
        Error::OutcomeUnknown { source } => source.kind(),
        other => other.kind(),
    };
    assert_eq!(cause, ErrorKind::Timeout, "{err}");
    assert!(took < REQUEST + MARGIN, "the call took {took:?}");
    assert!(conn.is_broken());

    // The dropped transaction was rolled back (by the ROLLBACK, or by the node when the
    // connection closed); the INSERT applied only if it was in doubt.
    proxy.clear();
    let mut check = through(&proxy, "deadlines").await;
    let rows = check
        .query_all("SELECT n FROM t ORDER BY n", &[])
        .await
        .unwrap();
    let seen: Vec<&[Value]> = rows.rows.iter().map(|r| r.values()).collect();
    if err.kind() == ErrorKind::OutcomeUnknown {
        assert!(
            seen.len() <= 1 && seen.iter().all(|v| *v == [Value::Integer(2)]),
            "{seen:?}"
        );
    } else {
        assert!(seen.is_empty(), "{seen:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn query_all_is_bounded_as_a_whole_and_next_per_call() {
    let cluster = common::start(1);
    let proxy = FaultProxy::start(cluster.addresses()[0].clone()).unwrap();
    let mut conn = through(&proxy, "deadlines").await;
    // Many frames, each delayed: every frame arrives within the deadline, the whole
    // result does not.
    proxy.set_fault(Fault::Latency(Duration::from_millis(250)));
    let started = Instant::now();
    let err = conn
        .query_all(BIG, &[])
        .await
        .map(|r| format!("{} rows past the deadline", r.rows.len()))
        .unwrap_err();
    let took = started.elapsed();
    assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");
    assert!(took < REQUEST + MARGIN, "query_all took {took:?}");

    // Streamed row by row, each `next` is a call of its own: a result that takes longer
    // than one deadline arrives whole.
    proxy.set_fault(Fault::Latency(Duration::from_millis(100)));
    let mut conn = through(&proxy, "deadlines").await;
    let started = Instant::now();
    let mut rows = conn.query(MEDIUM, &[]).await.unwrap();
    let mut count = 0;
    while rows.next().await.unwrap().is_some() {
        count += 1;
    }
    assert_eq!(count, 10_000);
    assert!(started.elapsed() > REQUEST, "{:?}", started.elapsed());
}

/// `Duration::MAX` as a timeout means no limit in practice: it was added to the time now
/// as it stood, which overflows, and the first call panicked.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_longest_timeouts_mean_no_limit_and_never_panic() {
    let cluster = common::start(1);
    let config = Config::new(cluster.addresses())
        .unwrap()
        .database("forever")
        .request_timeout(Duration::MAX)
        .connect_timeout(Duration::MAX)
        .dial_timeout(Duration::MAX)
        .busy_timeout(Duration::MAX);
    let client = dqlite_client::Cluster::new(config);
    let mut conn = client.connect().await.unwrap();
    conn.execute("CREATE TABLE t (n INTEGER)", &[])
        .await
        .unwrap();
    let batch = conn.prepare("INSERT INTO t VALUES (?)").await.unwrap();
    let rows: Vec<Vec<Value>> = (0..3).map(|n| vec![Value::Integer(n)]).collect();
    conn.execute_prepared_many(&batch, &rows, 2).await.unwrap();
    conn.set_request_timeout(Duration::MAX);
    let all = conn.query_all("SELECT count(*) FROM t", &[]).await.unwrap();
    assert_eq!(all.rows[0].values(), [Value::Integer(3)]);

    let pool = dqlite_client::Pool::new(client, dqlite_client::PoolOptions::default());
    pool.execute("INSERT INTO t VALUES (3)", &[]).await.unwrap();
    let all = pool.query_all("SELECT count(*) FROM t", &[]).await.unwrap();
    assert_eq!(all.rows[0].values(), [Value::Integer(4)]);
}
