//! Jepsen-style workloads against real 3-node clusters, scaled to one machine: a bank
//! (transfers in explicit transactions), a set (unique autocommit inserts), recovery times,
//! and deadlines with the leader paused. Faults are process faults (SIGKILL, SIGSTOP,
//! SIGCONT, restart) from the test kit; histories are checked here, without a JVM.
//!
//! Every operation ends in one of three outcomes, decided from the error kind alone:
//! * ok;
//! * failed: definitely not applied (nothing was sent, or the server refused it before
//!   running it: not leader, busy, a request that never left whole);
//! * in doubt: `ErrorKind::OutcomeUnknown` (or a protocol error after sending).
//!
//! Only failed operations are retried, and then as new operations (a bank transfer gets a
//! new transfer id). The checks at the end: nothing acknowledged is lost, nothing is
//! applied twice, nothing reported failed is present, and in-doubt operations are counted
//! and resolved by reading.
//!
//! Each scenario prints one summary line (and appends it to `$DQLITE_RELIABILITY_LOG` when
//! set). `DQLITE_RELIABILITY_FULL=1` runs the long version: more rounds, longer phases.
//! The full run takes several minutes, past nextest's slow-test limit, so it runs under
//! cargo test:
//!
//! ```sh
//! DQLITE_RELIABILITY_FULL=1 cargo test -p dqlite-client --test it jepsen -- --test-threads=1 --nocapture
//! ```

use std::collections::{BTreeMap, HashMap, HashSet};
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::Poll;
use std::time::{Duration, Instant};

use dqlite_client::{
    Cluster, Config, Error, ErrorKind, Pool, PoolOptions, PooledConnection, Value,
};
use dqlite_testkit::TestCluster;

use crate::common;

/// True for the long run.
pub fn full() -> bool {
    std::env::var("DQLITE_RELIABILITY_FULL").is_ok_and(|v| v == "1")
}

/// Prints a scenario's summary line, and appends it to `$DQLITE_RELIABILITY_LOG`.
pub fn report(line: &str) {
    eprintln!("{line}");
    if let Ok(path) = std::env::var("DQLITE_RELIABILITY_LOG") {
        use std::io::Write;
        if let Ok(mut f) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
        {
            let _ = writeln!(f, "{line}");
        }
    }
}

fn config(cluster: &TestCluster, db: &str) -> Config {
    Config::new(cluster.addresses())
        .unwrap()
        .database(db)
        .request_timeout(Duration::from_secs(2))
        .dial_timeout(Duration::from_secs(1))
        .connect_timeout(Duration::from_secs(5))
}

/// True when the operation may have been applied.
fn in_doubt(e: &Error) -> bool {
    matches!(e.kind(), ErrorKind::OutcomeUnknown | ErrorKind::Protocol)
}

fn kind_name(e: &Error) -> String {
    match e {
        Error::OutcomeUnknown { source } => format!("OutcomeUnknown({:?})", source.kind()),
        other => format!("{:?}", other.kind()),
    }
}

fn ms(d: Duration) -> u128 {
    d.as_millis()
}

/// Successful writes, with when each started and ended, shared with the nemesis so it can
/// wait for the cluster to take writes again.
#[derive(Default)]
struct Acks {
    spans: Mutex<Vec<(Instant, Instant)>>,
}

impl Acks {
    fn record(&self, started: Instant) {
        self.spans.lock().unwrap().push((started, Instant::now()));
    }

    /// When the first write that started after `t` succeeded.
    fn first_after(&self, t: Instant) -> Option<Instant> {
        self.spans
            .lock()
            .unwrap()
            .iter()
            .filter(|(start, _)| *start >= t)
            .map(|(_, end)| *end)
            .min()
    }

    /// Waits (blocking) until a write that started after `t` succeeded.
    fn wait_after(&self, t: Instant, timeout: Duration) -> Option<Instant> {
        let give_up = Instant::now() + timeout;
        while Instant::now() < give_up {
            if let Some(at) = self.first_after(t) {
                return Some(at);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }
}

/// What the nemesis did and saw, for the summary.
#[derive(Default, Debug)]
struct Faults {
    /// Per kill: time until a node other than the killed one claimed leadership, and
    /// until the first successful write that started after the kill.
    kills: Vec<(Duration, Option<Duration>)>,
    /// Per pause: time from SIGCONT until the first successful write after it.
    resumes: Vec<Option<Duration>>,
}

impl Faults {
    fn summary(&self) -> String {
        let leader: Vec<u128> = self.kills.iter().map(|(l, _)| ms(*l)).collect();
        let write: Vec<String> = self
            .kills
            .iter()
            .map(|(_, w)| w.map_or("none".into(), |w| ms(w).to_string()))
            .collect();
        let client: Vec<String> = self
            .kills
            .iter()
            .map(|(l, w)| w.map_or("none".into(), |w| ms(w.saturating_sub(*l)).to_string()))
            .collect();
        let resumed: Vec<String> = self
            .resumes
            .iter()
            .map(|w| w.map_or("none".into(), |w| ms(w).to_string()))
            .collect();
        format!(
            "kill->leader_ms=[{}] kill->write_ms=[{}] leader->write_ms=[{}] resume->write_ms=[{}]",
            leader
                .iter()
                .map(u128::to_string)
                .collect::<Vec<_>>()
                .join(","),
            write.join(","),
            client.join(","),
            resumed.join(","),
        )
    }
}

/// SIGKILLs the leader; waits for another node to lead and for a write to succeed.
fn kill_leader(cluster: &mut TestCluster, acks: &Acks, faults: &mut Faults) -> usize {
    let leader = cluster
        .wait_for_leader(Duration::from_secs(30))
        .expect("a leader before the kill");
    let killed_at = Instant::now();
    cluster.kill(leader).unwrap();
    let leader_after = loop {
        if cluster.leader().is_some_and(|l| l != leader) {
            break killed_at.elapsed();
        }
        assert!(
            killed_at.elapsed() < Duration::from_secs(60),
            "no new leader 60 s after the kill"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    let write = acks
        .wait_after(killed_at, Duration::from_secs(30))
        .map(|at| at - killed_at);
    faults.kills.push((leader_after, write));
    leader
}

/// Runs `nemesis` on a thread of its own (the test kit blocks) and gives the cluster back.
async fn run_nemesis<F>(cluster: TestCluster, nemesis: F) -> (TestCluster, Faults)
where
    F: FnOnce(&mut TestCluster, &mut Faults) + Send + 'static,
{
    tokio::task::spawn_blocking(move || {
        let mut cluster = cluster;
        let mut faults = Faults::default();
        nemesis(&mut cluster, &mut faults);
        (cluster, faults)
    })
    .await
    .unwrap()
}

// ------------------------------------------------------------------------------------
// Bank
// ------------------------------------------------------------------------------------

const ACCOUNTS: i64 = 8;
const INITIAL: i64 = 1_000;

enum Attempt {
    Committed,
    /// Not committed: the step that failed, and why.
    Failed(&'static str, Error),
    InDoubt(Error),
}

#[derive(Default)]
struct BankHistory {
    committed: HashSet<i64>,
    failed: HashSet<i64>,
    in_doubt: HashSet<i64>,
    /// Error kinds seen, by outcome.
    errors: BTreeMap<String, usize>,
    reads_ok: usize,
    reads_failed: usize,
}

/// Ends a transaction that will not commit: ROLLBACK on a connection still usable, and a
/// connection whose transaction state is unclear never goes back to the pool.
async fn abandon(mut conn: PooledConnection) {
    if !conn.is_reusable() {
        return; // broken: the pool closes it, and the node rolls back
    }
    match conn.execute("ROLLBACK", &[]).await {
        Ok(_) => {}
        Err(e)
            if conn.is_reusable()
                && e.server_error()
                    .is_some_and(|s| s.message.contains("no transaction is active")) => {}
        Err(_) => drop(conn.detach()),
    }
}

/// One transfer in BEGIN ... COMMIT, recorded in `transfers` under `tid`.
async fn transfer(pool: &Pool, tid: i64, from: i64, to: i64, amount: i64) -> Attempt {
    let mut conn = match pool.get().await {
        Ok(conn) => conn,
        Err(e) => return Attempt::Failed("pool.get", e),
    };
    let statements: [(&str, Vec<Value>); 4] = [
        ("BEGIN", vec![]),
        (
            "UPDATE accounts SET balance = balance - ? WHERE id = ?",
            vec![Value::Integer(amount), Value::Integer(from)],
        ),
        (
            "UPDATE accounts SET balance = balance + ? WHERE id = ?",
            vec![Value::Integer(amount), Value::Integer(to)],
        ),
        (
            "INSERT INTO transfers (tid, src, dst, amount) VALUES (?, ?, ?, ?)",
            vec![
                Value::Integer(tid),
                Value::Integer(from),
                Value::Integer(to),
                Value::Integer(amount),
            ],
        ),
    ];
    for ((sql, params), step) in statements
        .iter()
        .zip(["BEGIN", "UPDATE", "UPDATE", "INSERT"])
    {
        if let Err(e) = conn.execute(sql, params).await {
            // COMMIT was never sent: whatever ran is rolled back (by ROLLBACK, or by the
            // node when the connection closes), even when this statement's own outcome is
            // unknown.
            abandon(conn).await;
            return Attempt::Failed(step, e);
        }
    }
    match conn.execute("COMMIT", &[]).await {
        Ok(_) => Attempt::Committed,
        Err(e) => match e.kind() {
            // Refused before it ran, or never sent whole: not committed.
            ErrorKind::NotLeader | ErrorKind::Busy | ErrorKind::Transport | ErrorKind::Closed => {
                abandon(conn).await;
                Attempt::Failed("COMMIT", e)
            }
            _ => Attempt::InDoubt(e),
        },
    }
}

async fn bank_worker(
    pool: Pool,
    stop: Arc<AtomicBool>,
    next_tid: Arc<AtomicI64>,
    history: Arc<Mutex<BankHistory>>,
    acks: Arc<Acks>,
) {
    let mut rng = fastrand::Rng::new();
    while !stop.load(Ordering::Acquire) {
        let from = rng.i64(0..ACCOUNTS);
        let to = (from + rng.i64(1..ACCOUNTS)) % ACCOUNTS;
        let amount = rng.i64(1..=10);
        // Attempts at this transfer: a failed one is retried as a new transfer (new id);
        // an in-doubt one is not retried.
        while !stop.load(Ordering::Acquire) {
            let tid = next_tid.fetch_add(1, Ordering::AcqRel);
            let started = Instant::now();
            let attempt = transfer(&pool, tid, from, to, amount).await;
            let retry = {
                let mut h = history.lock().unwrap();
                match attempt {
                    Attempt::Committed => {
                        h.committed.insert(tid);
                        acks.record(started);
                        false
                    }
                    Attempt::InDoubt(e) => {
                        h.in_doubt.insert(tid);
                        *h.errors
                            .entry(format!("in doubt: {}", kind_name(&e)))
                            .or_default() += 1;
                        false
                    }
                    Attempt::Failed(step, e) => {
                        h.failed.insert(tid);
                        *h.errors
                            .entry(format!("failed at {step}: {}", kind_name(&e)))
                            .or_default() += 1;
                        true
                    }
                }
            };
            if !retry {
                break;
            }
            tokio::time::sleep(Duration::from_millis(rng.u64(10..60))).await;
        }
    }
}

/// Reads the total now and then: every read must see it unchanged.
async fn bank_reader(pool: Pool, stop: Arc<AtomicBool>, history: Arc<Mutex<BankHistory>>) {
    while !stop.load(Ordering::Acquire) {
        match pool
            .query_all("SELECT sum(balance), count(*) FROM accounts", &[])
            .await
        {
            Ok(rows) => {
                assert_eq!(
                    rows.rows[0].values(),
                    [Value::Integer(ACCOUNTS * INITIAL), Value::Integer(ACCOUNTS)],
                    "a read saw a broken total"
                );
                history.lock().unwrap().reads_ok += 1;
            }
            Err(_) => history.lock().unwrap().reads_failed += 1,
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jepsen_bank_survives_kill_pause_and_restart() {
    let rounds = if full() { 3 } else { 1 };
    let (warm, pause_for, tail) = if full() {
        (
            Duration::from_secs(5),
            Duration::from_secs(8),
            Duration::from_secs(5),
        )
    } else {
        (
            Duration::from_millis(1_500),
            Duration::from_secs(3),
            Duration::from_millis(1_500),
        )
    };
    let workers = 4;
    let cluster = common::start(3);
    let version = cluster.version();
    let pool = Pool::new(
        Cluster::new(config(&cluster, "bank")),
        PoolOptions::default()
            .max_size(workers + 1)
            .acquire_timeout(Duration::from_secs(10)),
    );
    // No uniqueness on tid: a transfer applied twice would show up as two rows.
    pool.execute(
        "CREATE TABLE accounts (id INTEGER PRIMARY KEY, balance INTEGER NOT NULL)",
        &[],
    )
    .await
    .unwrap();
    pool.execute(
        "CREATE TABLE transfers (tid INTEGER NOT NULL, src INTEGER, dst INTEGER, amount INTEGER)",
        &[],
    )
    .await
    .unwrap();
    for id in 0..ACCOUNTS {
        pool.execute(
            "INSERT INTO accounts VALUES (?, ?)",
            &[Value::Integer(id), Value::Integer(INITIAL)],
        )
        .await
        .unwrap();
    }

    let stop = Arc::new(AtomicBool::new(false));
    let next_tid = Arc::new(AtomicI64::new(1));
    let history = Arc::new(Mutex::new(BankHistory::default()));
    let acks = Arc::new(Acks::default());
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..workers {
        tasks.spawn(bank_worker(
            pool.clone(),
            Arc::clone(&stop),
            Arc::clone(&next_tid),
            Arc::clone(&history),
            Arc::clone(&acks),
        ));
    }
    tasks.spawn(bank_reader(
        pool.clone(),
        Arc::clone(&stop),
        Arc::clone(&history),
    ));

    let started = Instant::now();
    let nemesis_acks = Arc::clone(&acks);
    let (cluster, faults) = run_nemesis(cluster, move |cluster, faults| {
        for _ in 0..rounds {
            std::thread::sleep(warm);
            // 1. SIGKILL the leader.
            let killed = kill_leader(cluster, &nemesis_acks, faults);
            std::thread::sleep(Duration::from_secs(1));
            // 2. SIGSTOP the new leader (with one node down, no quorum is left), SIGCONT.
            let paused = cluster
                .wait_for_leader(Duration::from_secs(30))
                .expect("a leader to pause");
            cluster.pause(paused).unwrap();
            std::thread::sleep(pause_for);
            cluster.resume(paused).unwrap();
            let resumed_at = Instant::now();
            // 3. Restart the killed node.
            cluster.restart(killed).unwrap();
            let write = nemesis_acks.wait_after(resumed_at, Duration::from_secs(60));
            faults.resumes.push(write.map(|at| at - resumed_at));
            cluster.wait_healthy(Duration::from_secs(60)).unwrap();
        }
        std::thread::sleep(tail);
    })
    .await;
    stop.store(true, Ordering::Release);
    while let Some(joined) = tasks.join_next().await {
        joined.unwrap();
    }
    let elapsed = started.elapsed();

    // Final state, read through a fresh client once the cluster is healthy.
    let check = Pool::new(
        Cluster::new(config(&cluster, "bank")),
        PoolOptions::default(),
    );
    let accounts = check
        .query_all("SELECT id, balance FROM accounts ORDER BY id", &[])
        .await
        .unwrap();
    let balances: HashMap<i64, i64> = accounts
        .rows
        .iter()
        .map(|r| match r.values() {
            [Value::Integer(id), Value::Integer(b)] => (*id, *b),
            other => panic!("unexpected row {other:?}"),
        })
        .collect();
    let stored = check
        .query_all(
            "SELECT tid, count(*), min(src), min(dst), min(amount) FROM transfers GROUP BY tid",
            &[],
        )
        .await
        .unwrap();
    let mut copies: HashMap<i64, i64> = HashMap::new();
    let mut expected: HashMap<i64, i64> = (0..ACCOUNTS).map(|id| (id, INITIAL)).collect();
    for row in &stored.rows {
        let [
            Value::Integer(tid),
            Value::Integer(n),
            Value::Integer(src),
            Value::Integer(dst),
            Value::Integer(amount),
        ] = row.values()
        else {
            panic!("unexpected row {row:?}");
        };
        copies.insert(*tid, *n);
        *expected.get_mut(src).unwrap() -= amount * n;
        *expected.get_mut(dst).unwrap() += amount * n;
    }

    let h = history.lock().unwrap();
    let total: i64 = balances.values().sum();
    let lost: Vec<i64> = h
        .committed
        .iter()
        .filter(|t| !copies.contains_key(t))
        .copied()
        .collect();
    let duplicated: Vec<i64> = copies
        .iter()
        .filter(|(_, n)| **n > 1)
        .map(|(t, _)| *t)
        .collect();
    let failed_present: Vec<i64> = h
        .failed
        .iter()
        .filter(|t| copies.contains_key(t))
        .copied()
        .collect();
    let unexplained: Vec<i64> = copies
        .keys()
        .filter(|t| !h.committed.contains(t) && !h.in_doubt.contains(t))
        .copied()
        .collect();
    let doubt_applied = h.in_doubt.iter().filter(|t| copies.contains_key(t)).count();
    report(&format!(
        "reliability bank [dqlite {version}]: {:.1}s rounds={rounds} transactions={} committed={} \
         failed={} in_doubt={} (applied {doubt_applied}, not applied {}) lost={} duplicated={} \
         failed_but_present={} total={total}/{} reads_ok={} reads_failed={} {} errors={:?}",
        elapsed.as_secs_f64(),
        h.committed.len() + h.failed.len() + h.in_doubt.len(),
        h.committed.len(),
        h.failed.len(),
        h.in_doubt.len(),
        h.in_doubt.len() - doubt_applied,
        lost.len(),
        duplicated.len(),
        failed_present.len(),
        ACCOUNTS * INITIAL,
        h.reads_ok,
        h.reads_failed,
        faults.summary(),
        h.errors,
    ));
    assert_eq!(total, ACCOUNTS * INITIAL, "the total balance changed");
    assert_eq!(
        balances, expected,
        "balances disagree with the recorded transfers"
    );
    assert!(lost.is_empty(), "committed transfers lost: {lost:?}");
    assert!(
        duplicated.is_empty(),
        "transfers applied twice: {duplicated:?}"
    );
    assert!(
        failed_present.is_empty(),
        "transfers reported failed are present: {failed_present:?}"
    );
    assert!(
        unexplained.is_empty(),
        "transfers never reported are present: {unexplained:?}"
    );
    assert!(
        h.committed.len() > 10,
        "too little progress to mean anything"
    );
    assert!(
        faults.kills.iter().all(|(_, w)| w.is_some()),
        "no write after a kill"
    );
    drop(cluster);
}

// ------------------------------------------------------------------------------------
// Set
// ------------------------------------------------------------------------------------

#[derive(Default)]
struct SetHistory {
    acknowledged: HashSet<i64>,
    in_doubt: HashSet<i64>,
    /// Ids whose attempts all failed before the run ended (never applied).
    abandoned: HashSet<i64>,
    failed_attempts: usize,
    errors: BTreeMap<String, usize>,
}

async fn set_writer(
    w: i64,
    pool: Pool,
    stop: Arc<AtomicBool>,
    history: Arc<Mutex<SetHistory>>,
    acks: Arc<Acks>,
) {
    let mut k = 0;
    while !stop.load(Ordering::Acquire) {
        let id = w * 1_000_000 + k;
        k += 1;
        // A definite failure is retried with the same id: if it had been applied after
        // all, the retry would show up as a duplicate.
        loop {
            if stop.load(Ordering::Acquire) {
                history.lock().unwrap().abandoned.insert(id);
                return;
            }
            let started = Instant::now();
            let result = match pool.get().await {
                Ok(mut conn) => {
                    conn.execute("INSERT INTO s VALUES (?)", &[Value::Integer(id)])
                        .await
                }
                Err(e) => Err(e),
            };
            let retry = {
                let mut h = history.lock().unwrap();
                match result {
                    Ok(r) => {
                        assert_eq!(r.rows_affected, 1);
                        h.acknowledged.insert(id);
                        acks.record(started);
                        false
                    }
                    Err(e) if in_doubt(&e) => {
                        h.in_doubt.insert(id);
                        *h.errors
                            .entry(format!("in doubt: {}", kind_name(&e)))
                            .or_default() += 1;
                        false
                    }
                    Err(e) => {
                        h.failed_attempts += 1;
                        *h.errors
                            .entry(format!("failed: {}", kind_name(&e)))
                            .or_default() += 1;
                        true
                    }
                }
            };
            if !retry {
                break;
            }
            tokio::time::sleep(Duration::from_millis(30)).await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jepsen_set_survives_repeated_leader_kills() {
    let kills = if full() { 8 } else { 2 };
    let between = if full() {
        Duration::from_secs(4)
    } else {
        Duration::from_millis(1_500)
    };
    let writers = 4;
    let cluster = common::start(3);
    let version = cluster.version();
    let pool = Pool::new(
        Cluster::new(config(&cluster, "set")),
        PoolOptions::default()
            .max_size(writers)
            .acquire_timeout(Duration::from_secs(10)),
    );
    // No unique constraint: a duplicate write would show up as two rows.
    pool.execute("CREATE TABLE s (id INTEGER)", &[])
        .await
        .unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let history = Arc::new(Mutex::new(SetHistory::default()));
    let acks = Arc::new(Acks::default());
    let mut tasks = tokio::task::JoinSet::new();
    for w in 0..writers {
        tasks.spawn(set_writer(
            i64::try_from(w).unwrap(),
            pool.clone(),
            Arc::clone(&stop),
            Arc::clone(&history),
            Arc::clone(&acks),
        ));
    }
    let started = Instant::now();
    let nemesis_acks = Arc::clone(&acks);
    let (cluster, faults) = run_nemesis(cluster, move |cluster, faults| {
        for _ in 0..kills {
            std::thread::sleep(between);
            let killed = kill_leader(cluster, &nemesis_acks, faults);
            cluster.restart(killed).unwrap();
            cluster.wait_healthy(Duration::from_secs(60)).unwrap();
        }
        std::thread::sleep(between);
    })
    .await;
    stop.store(true, Ordering::Release);
    while let Some(joined) = tasks.join_next().await {
        joined.unwrap();
    }
    let elapsed = started.elapsed();

    let check = Pool::new(
        Cluster::new(config(&cluster, "set")),
        PoolOptions::default(),
    );
    let rows = check
        .query_all("SELECT id, count(*) FROM s GROUP BY id", &[])
        .await
        .unwrap();
    let stored: HashMap<i64, i64> = rows
        .rows
        .iter()
        .map(|r| match r.values() {
            [Value::Integer(id), Value::Integer(n)] => (*id, *n),
            other => panic!("unexpected row {other:?}"),
        })
        .collect();
    let h = history.lock().unwrap();
    let lost: Vec<i64> = h
        .acknowledged
        .iter()
        .filter(|id| !stored.contains_key(id))
        .copied()
        .collect();
    let duplicated: Vec<i64> = stored
        .iter()
        .filter(|(_, n)| **n > 1)
        .map(|(id, _)| *id)
        .collect();
    let unexplained: Vec<i64> = stored
        .keys()
        .filter(|id| !h.acknowledged.contains(id) && !h.in_doubt.contains(id))
        .copied()
        .collect();
    let doubt_applied = h
        .in_doubt
        .iter()
        .filter(|id| stored.contains_key(id))
        .count();
    report(&format!(
        "reliability set [dqlite {version}]: {:.1}s kills={kills} inserts={} acknowledged={} \
         failed_attempts={} in_doubt={} (applied {doubt_applied}, not applied {}) lost={} \
         duplicated={} unexplained={} {} errors={:?}",
        elapsed.as_secs_f64(),
        h.acknowledged.len() + h.in_doubt.len(),
        h.acknowledged.len(),
        h.failed_attempts,
        h.in_doubt.len(),
        h.in_doubt.len() - doubt_applied,
        lost.len(),
        duplicated.len(),
        unexplained.len(),
        faults.summary(),
        h.errors,
    ));
    assert!(lost.is_empty(), "acknowledged ids lost: {lost:?}");
    assert!(duplicated.is_empty(), "ids written twice: {duplicated:?}");
    assert!(
        unexplained.is_empty(),
        "ids present that were only ever reported failed: {unexplained:?}"
    );
    assert!(h.abandoned.iter().all(|id| !stored.contains_key(id)));
    assert_eq!(faults.kills.len(), kills);
    assert!(
        faults.kills.iter().all(|(_, w)| w.is_some()),
        "no write after a kill"
    );
    drop(cluster);
}

// ------------------------------------------------------------------------------------
// Deadlines with the leader paused
// ------------------------------------------------------------------------------------

type Call<'a> = Pin<Box<dyn Future<Output = Result<(), Error>> + Send + 'a>>;
type Timed<'a> = Pin<
    Box<
        dyn Future<
                Output = (
                    &'static str,
                    Duration,
                    Duration,
                    Result<Result<(), Error>, tokio::time::error::Elapsed>,
                ),
            > + Send
            + 'a,
    >,
>;

/// Runs the futures concurrently on this task (they borrow locals, so they cannot be
/// spawned) and returns their outputs in order.
async fn join_all<T>(mut futures: Vec<Pin<Box<dyn Future<Output = T> + Send + '_>>>) -> Vec<T> {
    let mut outputs: Vec<Option<T>> = futures.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (future, output) in futures.iter_mut().zip(outputs.iter_mut()) {
            if output.is_none() {
                match future.as_mut().poll(cx) {
                    Poll::Ready(value) => *output = Some(value),
                    Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            Poll::Pending
        } else {
            Poll::Ready(())
        }
    })
    .await;
    outputs.into_iter().map(Option::unwrap).collect()
}

/// With the leader SIGSTOPped, every kind of call returns by its deadline plus a small
/// margin: execute, query, a result stream mid-way, prepare, prepared execute and query,
/// finalize, COMMIT, LEADER, CLUSTER, `Pool::get` (an idle connection and a new one),
/// `Cluster::connect`. (`cancel.rs` checks execute and query on one connection.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jepsen_paused_leader_every_call_returns_by_its_deadline() {
    const REQUEST: Duration = Duration::from_millis(1_000);
    const CONNECT: Duration = Duration::from_millis(3_000);
    const MARGIN: Duration = Duration::from_millis(400);
    let mut cluster = common::start(3);
    // The table is made with the default timeouts: the 1 s ones are for the pause (a
    // CREATE TABLE once took over 1 s on the shared machine, before any fault).
    let mut setup = Cluster::new(config(&cluster, "deadlines"))
        .connect()
        .await
        .unwrap();
    let config = config(&cluster, "deadlines")
        .request_timeout(REQUEST)
        .connect_timeout(CONNECT)
        .dial_timeout(REQUEST);
    let client = Cluster::new(config.clone());
    setup
        .execute("CREATE TABLE t (n INTEGER)", &[])
        .await
        .unwrap();
    setup
        .execute_script(
            "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 50000) \
             INSERT INTO t SELECT x FROM c",
        )
        .await
        .unwrap();
    drop(setup);

    // One connection per call, all to the leader, opened before the pause.
    let mut conns = Vec::new();
    for _ in 0..12 {
        conns.push(client.connect().await.unwrap());
    }
    let mut prepared = Vec::new();
    for conn in conns.iter_mut().take(3) {
        prepared.push(conn.prepare("SELECT n FROM t WHERE n < ?").await.unwrap());
    }
    conns[3].execute("BEGIN", &[]).await.unwrap();
    conns[3]
        .execute("INSERT INTO t VALUES (-1)", &[])
        .await
        .unwrap();
    conns[10].execute("BEGIN", &[]).await.unwrap();
    let pool = Pool::new(
        Cluster::new(config.clone()),
        PoolOptions::default().max_size(2).acquire_timeout(CONNECT),
    );
    pool.query_all("SELECT 1", &[]).await.unwrap(); // leaves one idle
    let fresh_pool = Pool::new(
        Cluster::new(config.clone()),
        PoolOptions::default().acquire_timeout(CONNECT),
    );
    let fresh_cluster = Cluster::new(config.clone());
    // A result stream under way: its first frame read, the rest still to come.
    let mut streaming = conns.pop().unwrap();

    let leader = cluster.leader().expect("a leader");
    // Far more than the socket buffers hold: the node produces it as it is read.
    let mut rows = streaming
        .query(
            "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c \
             WHERE x < 5000000) SELECT x, printf('%040d', x) FROM c",
            &[],
        )
        .await
        .unwrap();
    rows.next().await.unwrap().unwrap();
    cluster.pause(leader).unwrap();
    // kill(SIGSTOP) returns before every thread of the node has stopped: a request sent
    // at once could still be served.
    tokio::time::sleep(Duration::from_millis(100)).await;

    let mut it = conns.into_iter();
    let mut next = || it.next().unwrap();
    let (mut c0, mut c1, mut c2, mut c3) = (next(), next(), next(), next());
    let (mut c4, mut c5, mut c6, mut c7) = (next(), next(), next(), next());
    let (mut c8, mut c9, mut c10) = (next(), next(), next());
    let [p0, p1, p2]: [_; 3] = prepared.try_into().unwrap();
    let calls: Vec<(&str, Duration, Call<'_>)> = vec![
        (
            "execute_prepared (a query)",
            REQUEST,
            Box::pin(async {
                c0.execute_prepared(&p0, &[Value::Integer(5)])
                    .await
                    .map(drop)
            }),
        ),
        (
            "query_prepared",
            REQUEST,
            Box::pin(async {
                c1.query_prepared(&p1, &[Value::Integer(5)])
                    .await?
                    .collect_all()
                    .await
                    .map(drop)
            }),
        ),
        (
            "finalize",
            REQUEST,
            Box::pin(async { c2.finalize(p2).await }),
        ),
        (
            "COMMIT",
            REQUEST,
            Box::pin(async { c3.execute("COMMIT", &[]).await.map(drop) }),
        ),
        (
            "execute",
            REQUEST,
            Box::pin(async { c4.execute("INSERT INTO t VALUES (1)", &[]).await.map(drop) }),
        ),
        (
            "query_all",
            REQUEST,
            Box::pin(async { c5.query_all("SELECT count(*) FROM t", &[]).await.map(drop) }),
        ),
        (
            "prepare",
            REQUEST,
            Box::pin(async { c6.prepare("SELECT 1").await.map(drop) }),
        ),
        (
            "leader",
            REQUEST,
            Box::pin(async { c7.leader().await.map(drop) }),
        ),
        (
            "cluster",
            REQUEST,
            Box::pin(async { c8.cluster().await.map(drop) }),
        ),
        (
            "execute_script",
            REQUEST,
            Box::pin(async {
                c9.execute_script("INSERT INTO t VALUES (2); INSERT INTO t VALUES (3)")
                    .await
                    .map(drop)
            }),
        ),
        (
            "UPDATE in a transaction",
            REQUEST,
            Box::pin(async {
                c10.execute("UPDATE t SET n = n WHERE n = 1", &[])
                    .await
                    .map(drop)
            }),
        ),
        (
            // What the socket had buffered before the pause is read first; the deadline
            // is per network wait, so each next() is checked on its own.
            "rows.next mid-stream",
            4 * REQUEST,
            Box::pin(async {
                loop {
                    let started = Instant::now();
                    let row = rows.next().await;
                    let took = started.elapsed();
                    assert!(took <= REQUEST + MARGIN, "one next() took {took:?}");
                    if row?.is_none() {
                        return Ok(());
                    }
                }
            }),
        ),
        (
            "pool.get (idle) + execute",
            REQUEST,
            Box::pin(async {
                let mut conn = pool.get().await?;
                conn.execute("INSERT INTO t VALUES (4)", &[])
                    .await
                    .map(drop)
            }),
        ),
        (
            "pool.get (new connection)",
            CONNECT,
            Box::pin(async { fresh_pool.get().await.map(drop) }),
        ),
        (
            "Cluster::connect",
            CONNECT,
            Box::pin(async { fresh_cluster.connect().await.map(drop) }),
        ),
    ];
    let count = calls.len();
    let timed: Vec<Timed<'_>> = calls
        .into_iter()
        .map(|(name, deadline, call)| -> Timed<'_> {
            Box::pin(async move {
                let started = Instant::now();
                let result = tokio::time::timeout(deadline + Duration::from_secs(30), call).await;
                (name, deadline, started.elapsed(), result)
            })
        })
        .collect();
    let outcomes = join_all(timed).await;
    cluster.resume(leader).unwrap();

    let mut late = Vec::new();
    let mut lines = Vec::new();
    for (name, deadline, took, result) in outcomes {
        let result = result.unwrap_or_else(|_| panic!("{name}: hung for {took:?}"));
        let outcome = match &result {
            Ok(()) => "ok".to_string(),
            Err(e) => kind_name(e),
        };
        lines.push(format!("{name}: {outcome} in {} ms", took.as_millis()));
        if took > deadline + MARGIN {
            late.push(format!(
                "{name} took {took:?} (deadline {deadline:?}): {outcome}"
            ));
        }
        // The paused node answers nothing: only a new leader elected meanwhile could
        // serve the calls that discover the leader afresh.
        if let Err(e) = &result {
            assert!(
                matches!(
                    e.kind(),
                    ErrorKind::Timeout
                        | ErrorKind::OutcomeUnknown
                        | ErrorKind::NoLeader
                        | ErrorKind::Transport
                ),
                "{name}: {e}"
            );
        }
    }
    report(&format!(
        "reliability deadlines [dqlite {}]: calls={count} late={} request_deadline_ms={} \
         connect_deadline_ms={} margin_ms={} | {}",
        cluster.version(),
        late.len(),
        REQUEST.as_millis(),
        CONNECT.as_millis(),
        MARGIN.as_millis(),
        lines.join("; ")
    ));
    assert!(late.is_empty(), "calls past their deadline: {late:#?}");
}
