//! The four Jepsen-style workloads (set, register, list-append, bank) over a client pool,
//! recorded as histories for `dqlite_testkit::check`.
//!
//! Every operation ends ok, fail or unknown, decided from the error kind alone (as in
//! `jepsen.rs`): unknown is `OutcomeUnknown` (or a protocol error) from an autocommit
//! write or a COMMIT; an error before COMMIT fails the whole transaction (nothing was
//! committed); every other error is a definite failure. Failed operations are retried as
//! new operations, except set adds, retried with the same element so that a failure that
//! had in fact been applied shows up as a duplicate. Unknown operations are never retried.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use dqlite_client::{Error, ErrorKind, Pool, Value};
use dqlite_testkit::check::{Op, Outcome, Verdict, Workload, check, write_history};
use serde_json::json;

/// Keys of the list-append workload.
const KEYS: i64 = 6;
/// Accounts of the bank and their initial balance.
const ACCOUNTS: i64 = 5;
const INITIAL: i64 = 100;

/// The outcome a failed write reports.
pub fn outcome_of(e: &Error) -> Outcome {
    if matches!(e.kind(), ErrorKind::OutcomeUnknown | ErrorKind::Protocol) {
        Outcome::Unknown
    } else {
        Outcome::Fail
    }
}

/// An error's kind, with the cause of an unknown outcome: `OutcomeUnknown(Timeout)`.
pub fn kind_name(e: &Error) -> String {
    match e {
        Error::OutcomeUnknown { source } => format!("OutcomeUnknown({})", kind_name(source)),
        Error::Server(s) => format!("{:?}:{}", e.kind(), s.code_name()),
        other => format!("{:?}", other.kind()),
    }
}

/// What every worker of a run shares: the clock, the stop flag, unique values, and the
/// spans of successful writes (to time recovery after a fault).
pub struct Run {
    pub started: Instant,
    stop: AtomicBool,
    next_value: AtomicI64,
    writes_ok: Mutex<Vec<(Instant, Instant)>>,
}

impl Run {
    pub fn new() -> Arc<Run> {
        Arc::new(Run {
            started: Instant::now(),
            stop: AtomicBool::new(false),
            next_value: AtomicI64::new(1),
            writes_ok: Mutex::new(Vec::new()),
        })
    }

    pub fn stop(&self) {
        self.stop.store(true, Ordering::Release);
    }

    fn stopped(&self) -> bool {
        self.stop.load(Ordering::Acquire)
    }

    fn us(&self, t: Instant) -> u64 {
        u64::try_from(t.saturating_duration_since(self.started).as_micros()).unwrap_or(u64::MAX)
    }

    fn unique(&self) -> i64 {
        self.next_value.fetch_add(1, Ordering::AcqRel)
    }

    /// When the first write that started at or after `t` succeeded.
    pub fn first_write_after(&self, t: Instant) -> Option<Instant> {
        self.writes_ok
            .lock()
            .unwrap()
            .iter()
            .filter(|(start, _)| *start >= t)
            .map(|(_, end)| *end)
            .min()
    }

    /// Waits (blocking) up to `timeout` for a write that started after `t` to succeed.
    pub fn wait_write_after(&self, t: Instant, timeout: Duration) -> Option<Duration> {
        let give_up = Instant::now() + timeout;
        loop {
            if let Some(at) = self.first_write_after(t) {
                return Some(at.saturating_duration_since(t));
            }
            if Instant::now() >= give_up {
                return None;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// The longest time without any successful write, between `from` and `to`.
    pub fn longest_write_gap(&self, from: Instant, to: Instant) -> Duration {
        let mut ends: Vec<Instant> = self
            .writes_ok
            .lock()
            .unwrap()
            .iter()
            .map(|(_, end)| *end)
            .filter(|end| *end >= from && *end <= to)
            .collect();
        ends.sort();
        let mut last = from;
        let mut gap = Duration::ZERO;
        for end in ends.into_iter().chain(std::iter::once(to)) {
            gap = gap.max(end.saturating_duration_since(last));
            last = end;
        }
        gap
    }
}

/// One workload's history, with error kinds counted by outcome.
pub struct History {
    workload: Workload,
    run: Arc<Run>,
    ops: Mutex<Vec<Op>>,
    errors: Mutex<BTreeMap<String, usize>>,
}

impl History {
    pub fn new(workload: Workload, run: &Arc<Run>) -> Arc<History> {
        Arc::new(History {
            workload,
            run: Arc::clone(run),
            ops: Mutex::new(Vec::new()),
            errors: Mutex::new(BTreeMap::new()),
        })
    }

    fn record(
        &self,
        process: u64,
        f: &str,
        value: serde_json::Value,
        started: Instant,
        result: Result<(), &Error>,
        write: bool,
    ) -> Outcome {
        let classified = match result {
            Ok(()) => (Outcome::Ok, None),
            Err(e) => (outcome_of(e), Some(kind_name(e))),
        };
        self.record_as(process, f, value, started, classified, write)
    }

    /// Records a transaction that failed before its COMMIT was sent: not applied.
    fn record_uncommitted(
        &self,
        process: u64,
        f: &str,
        value: serde_json::Value,
        started: Instant,
        e: &Error,
    ) {
        let error = Some(format!("before COMMIT: {}", kind_name(e)));
        self.record_as(process, f, value, started, (Outcome::Fail, error), true);
    }

    fn record_as(
        &self,
        process: u64,
        f: &str,
        value: serde_json::Value,
        started: Instant,
        (outcome, error): (Outcome, Option<String>),
        write: bool,
    ) -> Outcome {
        let ended = Instant::now();
        if let Some(name) = &error {
            let key = format!("{f} {outcome:?}: {name}");
            *self.errors.lock().unwrap().entry(key).or_default() += 1;
        }
        if write && outcome == Outcome::Ok {
            self.run.writes_ok.lock().unwrap().push((started, ended));
        }
        let mut op = Op::new(
            process,
            f,
            value,
            outcome,
            self.run.us(started),
            self.run.us(ended),
        );
        op.error = error;
        self.ops.lock().unwrap().push(op);
        outcome
    }

    /// Records a final read (after healing, writers stopped).
    fn record_final(&self, f: &str, value: serde_json::Value, started: Instant) {
        let mut op = Op::new(
            99,
            f,
            value,
            Outcome::Ok,
            self.run.us(started),
            self.run.us(Instant::now()),
        );
        op.is_final = true;
        self.ops.lock().unwrap().push(op);
    }

    pub fn verdict(&self) -> Verdict {
        let ops = self.ops.lock().unwrap();
        if let Ok(dir) = std::env::var("DQLITE_RELIABILITY_HISTORY_DIR") {
            let name = format!("{}-{:?}.jsonl", std::process::id(), self.workload).to_lowercase();
            let _ = std::fs::create_dir_all(&dir);
            let _ = std::fs::write(std::path::Path::new(&dir).join(name), write_history(&ops));
        }
        check(self.workload, &ops)
    }

    pub fn errors(&self) -> BTreeMap<String, usize> {
        self.errors.lock().unwrap().clone()
    }
}

async fn pause(rng: &mut fastrand::Rng) {
    tokio::time::sleep(Duration::from_millis(rng.u64(5..25))).await;
}

/// Retries `f` until it succeeds (final reads after healing), for up to 30 s.
async fn eventually<T, F, Fut>(mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, Error>>,
{
    let give_up = Instant::now() + Duration::from_secs(30);
    loop {
        match f().await {
            Ok(value) => return value,
            Err(e) if Instant::now() < give_up => {
                eprintln!("final read failed, retrying: {e}");
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(e) => panic!("final read failed for 30 s: {e}"),
        }
    }
}

fn integers(rows: &dqlite_client::QueryResult) -> Vec<i64> {
    rows.rows
        .iter()
        .map(|r| match r.values() {
            [Value::Integer(n), ..] => *n,
            other => panic!("unexpected row {other:?}"),
        })
        .collect()
}

/// Drops every workload table (a soak reuses its database epoch after epoch).
pub async fn drop_tables(pool: &Pool) {
    for table in ["s", "reg", "app", "accounts", "transfers"] {
        let sql = format!("DROP TABLE IF EXISTS {table}");
        eventually(|| pool.execute(&sql, &[])).await;
    }
}

// ---------------------------------------------------------------------------------------
// Set: unique autocommit inserts into a table without a unique constraint.
// ---------------------------------------------------------------------------------------

pub async fn set_setup(pool: &Pool) {
    pool.execute("CREATE TABLE s (id INTEGER)", &[])
        .await
        .unwrap();
}

pub async fn set_worker(pool: Pool, history: Arc<History>, process: u64) {
    let run = Arc::clone(&history.run);
    let mut rng = fastrand::Rng::new();
    while !run.stopped() {
        let id = run.unique();
        // A definite failure is retried with the same element.
        while !run.stopped() {
            let started = Instant::now();
            let result = match pool.get().await {
                Ok(mut conn) => conn
                    .execute("INSERT INTO s VALUES (?)", &[Value::Integer(id)])
                    .await
                    .map(drop),
                Err(e) => Err(e),
            };
            let outcome = history.record(
                process,
                "add",
                json!(id),
                started,
                result.as_ref().map(|_| ()),
                true,
            );
            if outcome != Outcome::Fail {
                break;
            }
            pause(&mut rng).await;
        }
        pause(&mut rng).await;
    }
}

pub async fn set_final(pool: &Pool, history: &History) {
    let started = Instant::now();
    let rows = eventually(|| pool.query_all("SELECT id FROM s", &[])).await;
    history.record_final("read", json!(integers(&rows)), started);
}

// ---------------------------------------------------------------------------------------
// Register: writes of unique values and reads of one row, all through the leader.
// ---------------------------------------------------------------------------------------

pub async fn register_setup(pool: &Pool) {
    pool.execute("CREATE TABLE reg (id INTEGER PRIMARY KEY, v INTEGER)", &[])
        .await
        .unwrap();
}

pub async fn register_worker(pool: Pool, history: Arc<History>, process: u64) {
    let run = Arc::clone(&history.run);
    let mut rng = fastrand::Rng::new();
    while !run.stopped() {
        let started = Instant::now();
        if rng.bool() {
            let v = run.unique();
            let result = pool
                .execute(
                    "INSERT OR REPLACE INTO reg (id, v) VALUES (0, ?)",
                    &[Value::Integer(v)],
                )
                .await;
            history.record(
                process,
                "write",
                json!(v),
                started,
                result.as_ref().map(|_| ()),
                true,
            );
        } else {
            match pool.query_all("SELECT v FROM reg WHERE id = 0", &[]).await {
                Ok(rows) => {
                    let value = integers(&rows).first().copied();
                    history.record(process, "read", json!(value), started, Ok(()), false);
                }
                Err(e) => {
                    history.record(process, "read", json!(null), started, Err(&e), false);
                }
            }
        }
        pause(&mut rng).await;
    }
}

// ---------------------------------------------------------------------------------------
// List append: transactions of 1-4 appends (INSERTs of (key, value) rows) and reads.
// ---------------------------------------------------------------------------------------

pub async fn append_setup(pool: &Pool) {
    pool.execute(
        "CREATE TABLE app (id INTEGER PRIMARY KEY AUTOINCREMENT, k INTEGER NOT NULL, v INTEGER NOT NULL)",
        &[],
    )
    .await
    .unwrap();
}

enum Mop {
    Append(i64, i64),
    Read(i64, Option<Vec<i64>>),
}

fn mops_json(mops: &[Mop]) -> serde_json::Value {
    json!(
        mops.iter()
            .map(|m| match m {
                Mop::Append(k, v) => json!(["append", k, v]),
                Mop::Read(k, list) => json!(["r", k, list]),
            })
            .collect::<Vec<_>>()
    )
}

const READ_KEY: &str = "SELECT v FROM app WHERE k = ? ORDER BY id";

/// Runs one transaction; reads are filled in as they happen.
async fn append_txn(pool: &Pool, mops: &mut [Mop]) -> Result<(), (Error, bool)> {
    let before_commit = |e| (e, false);
    let mut conn = pool.get().await.map_err(before_commit)?;
    let mut tx = conn.transaction().await.map_err(before_commit)?;
    for mop in mops.iter_mut() {
        match mop {
            Mop::Append(k, v) => {
                tx.execute(
                    "INSERT INTO app (k, v) VALUES (?, ?)",
                    &[Value::Integer(*k), Value::Integer(*v)],
                )
                .await
                .map_err(before_commit)?;
            }
            Mop::Read(k, list) => {
                let rows = tx
                    .query_all(READ_KEY, &[Value::Integer(*k)])
                    .await
                    .map_err(before_commit)?;
                *list = Some(integers(&rows));
            }
        }
    }
    tx.commit().await.map_err(|e| (e, true))
}

pub async fn append_worker(pool: Pool, history: Arc<History>, process: u64) {
    let run = Arc::clone(&history.run);
    let mut rng = fastrand::Rng::new();
    while !run.stopped() {
        let mut mops: Vec<Mop> = (0..rng.usize(1..=4))
            .map(|_| {
                let k = rng.i64(0..KEYS);
                if rng.bool() {
                    Mop::Append(k, run.unique())
                } else {
                    Mop::Read(k, None)
                }
            })
            .collect();
        let started = Instant::now();
        let writes = mops.iter().any(|m| matches!(m, Mop::Append(..)));
        match append_txn(&pool, &mut mops).await {
            Ok(()) => {
                history.record(process, "txn", mops_json(&mops), started, Ok(()), writes);
            }
            Err((e, at_commit)) => {
                for m in &mut mops {
                    if let Mop::Read(_, list) = m {
                        *list = None;
                    }
                }
                if at_commit {
                    history.record(process, "txn", mops_json(&mops), started, Err(&e), writes);
                } else {
                    history.record_uncommitted(process, "txn", mops_json(&mops), started, &e);
                }
            }
        }
        pause(&mut rng).await;
    }
}

pub async fn append_final(pool: &Pool, history: &History) {
    let started = Instant::now();
    let rows = eventually(|| pool.query_all("SELECT k, v FROM app ORDER BY id", &[])).await;
    let mut lists: BTreeMap<i64, Vec<i64>> = (0..KEYS).map(|k| (k, Vec::new())).collect();
    for row in &rows.rows {
        let [Value::Integer(k), Value::Integer(v)] = row.values() else {
            panic!("unexpected row {row:?}");
        };
        lists.entry(*k).or_default().push(*v);
    }
    let mops: Vec<Mop> = lists
        .into_iter()
        .map(|(k, l)| Mop::Read(k, Some(l)))
        .collect();
    history.record_final("txn", mops_json(&mops), started);
}

// ---------------------------------------------------------------------------------------
// Bank: transfers in transactions, recorded under fresh transfer ids; total-keeping reads.
// ---------------------------------------------------------------------------------------

pub async fn bank_setup(pool: &Pool, history: &History) {
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
    let balances: Vec<i64> = (0..ACCOUNTS).map(|_| INITIAL).collect();
    let started = Instant::now();
    history.record(
        0,
        "init",
        json!({ "balances": balances }),
        started,
        Ok(()),
        false,
    );
}

async fn transfer(
    pool: &Pool,
    tid: i64,
    from: i64,
    to: i64,
    amount: i64,
) -> Result<(), (Error, bool)> {
    let before_commit = |e| (e, false);
    let mut conn = pool.get().await.map_err(before_commit)?;
    let mut tx = conn.transaction().await.map_err(before_commit)?;
    let statements: [(&str, Vec<Value>); 3] = [
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
    for (sql, params) in &statements {
        tx.execute(sql, params).await.map_err(before_commit)?;
    }
    tx.commit().await.map_err(|e| (e, true))
}

pub async fn bank_worker(pool: Pool, history: Arc<History>, process: u64) {
    let run = Arc::clone(&history.run);
    let mut rng = fastrand::Rng::new();
    while !run.stopped() {
        let started = Instant::now();
        if rng.u8(0..4) == 0 {
            match pool
                .query_all("SELECT balance FROM accounts ORDER BY id", &[])
                .await
            {
                Ok(rows) => {
                    let value = json!({ "balances": integers(&rows) });
                    history.record(process, "read", value, started, Ok(()), false);
                }
                Err(e) => {
                    history.record(process, "read", json!(null), started, Err(&e), false);
                }
            }
        } else {
            let tid = run.unique();
            let from = rng.i64(0..ACCOUNTS);
            let to = (from + rng.i64(1..ACCOUNTS)) % ACCOUNTS;
            let amount = rng.i64(1..=10);
            let value = json!({ "tid": tid, "from": from, "to": to, "amount": amount });
            match transfer(&pool, tid, from, to, amount).await {
                Ok(()) => {
                    history.record(process, "transfer", value, started, Ok(()), true);
                }
                Err((e, true)) => {
                    history.record(process, "transfer", value, started, Err(&e), true);
                }
                Err((e, false)) => {
                    history.record_uncommitted(process, "transfer", value, started, &e)
                }
            }
        }
        pause(&mut rng).await;
    }
}

pub async fn bank_final(pool: &Pool, history: &History) {
    let started = Instant::now();
    let balances =
        eventually(|| pool.query_all("SELECT balance FROM accounts ORDER BY id", &[])).await;
    let rows =
        eventually(|| pool.query_all("SELECT tid, count(*) FROM transfers GROUP BY tid", &[]))
            .await;
    let transfers: Vec<[i64; 2]> = rows
        .rows
        .iter()
        .map(|r| match r.values() {
            [Value::Integer(t), Value::Integer(n)] => [*t, *n],
            other => panic!("unexpected row {other:?}"),
        })
        .collect();
    history.record_final(
        "read",
        json!({ "balances": integers(&balances), "transfers": transfers }),
        started,
    );
}
