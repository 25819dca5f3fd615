//! Writes whose outcome the node cannot know (issue 13, defect 2): a leader that fails to
//! persist or replicate an entry it may already have sent answers with the IOERR family
//! (`SQLITE_IOERR_WRITE` on a full disk) or with `SQLITE_ABORT` (shutting down), and the
//! next leader may still commit the entry. Such answers must come back as
//! `Error::OutcomeUnknown`, never as plain failures.
//!
//! Each scenario runs concurrent autocommit inserts of unique ids and then reads the table
//! back from the surviving leader: every acknowledged id is there, every id reported as a
//! plain failure is absent, and the in-doubt ids are counted (applied or not).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use dqlite_client::{ErrorKind, Pool, PoolOptions, Value};
use dqlite_testkit::TestCluster;

use crate::common;

/// What became of each write, by id.
#[derive(Debug, Default)]
struct Outcomes {
    ok: BTreeSet<i64>,
    failed: Vec<(i64, String)>,
    in_doubt: BTreeSet<i64>,
    /// The distinct errors seen, for the report.
    errors: BTreeSet<String>,
}

impl Outcomes {
    fn record(&mut self, id: i64, result: dqlite_client::Result<dqlite_client::ExecResult>) {
        match result {
            Ok(_) => {
                self.ok.insert(id);
            }
            Err(e) if e.kind() == ErrorKind::OutcomeUnknown => {
                self.errors.insert(format!("in doubt: {e}"));
                self.in_doubt.insert(id);
            }
            Err(e) => {
                self.errors.insert(format!("{:?}: {e}", e.kind()));
                self.failed.push((id, format!("{e} [{:?}]", e.kind())));
            }
        }
    }

    /// Checks the outcomes against the ids the table holds, and reports the figures.
    fn check(&self, what: &str, present: &BTreeSet<i64>) {
        let lost: Vec<_> = self.ok.difference(present).collect();
        assert!(
            lost.is_empty(),
            "{what}: acknowledged writes lost: {lost:?}"
        );
        let applied_but_failed: Vec<_> = self
            .failed
            .iter()
            .filter(|(id, _)| present.contains(id))
            .collect();
        assert!(
            applied_but_failed.is_empty(),
            "{what}: writes reported as plain failures were applied: {applied_but_failed:?}"
        );
        let applied = self.in_doubt.intersection(present).count();
        eprintln!(
            "{what}: {} ok, {} failed, {} in doubt ({applied} of them applied)",
            self.ok.len(),
            self.failed.len(),
            self.in_doubt.len()
        );
        for e in &self.errors {
            eprintln!("  {e}");
        }
        for (id, e) in &self.failed {
            assert!(
                !e.contains("SQLITE_IOERR") && !e.contains("SQLITE_ABORT"),
                "{what}: write {id} failed plainly with an answer that leaves it in doubt: {e}"
            );
        }
    }
}

async fn ids(pool: &Pool) -> BTreeSet<i64> {
    let rows = pool.query_all("SELECT id FROM t", &[]).await.unwrap();
    rows.rows
        .iter()
        .map(|r| match r.values() {
            [Value::Integer(id)] => *id,
            other => panic!("unexpected row {other:?}"),
        })
        .collect()
}

/// `workers` tasks inserting ids `worker, worker + workers, ...` with a `pad`-byte blob,
/// until `stop` says so; each outcome recorded.
fn writers(
    pool: &Pool,
    workers: i64,
    pad: i64,
    stop: impl Fn(&Outcomes) -> bool + Send + Sync + 'static,
) -> (tokio::task::JoinSet<()>, Arc<Mutex<Outcomes>>) {
    let outcomes = Arc::new(Mutex::new(Outcomes::default()));
    let stop = Arc::new(stop);
    let mut tasks = tokio::task::JoinSet::new();
    for worker in 0..workers {
        let (pool, outcomes, stop) = (pool.clone(), Arc::clone(&outcomes), Arc::clone(&stop));
        tasks.spawn(async move {
            let mut id = worker;
            while !stop(&outcomes.lock().unwrap()) {
                let result = pool
                    .execute(
                        "INSERT INTO t (id, pad) VALUES (?, zeroblob(?))",
                        &[Value::Integer(id), Value::Integer(pad)],
                    )
                    .await;
                let failed = result.is_err();
                outcomes.lock().unwrap().record(id, result);
                id += workers;
                if failed {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            }
        });
    }
    (tasks, outcomes)
}

fn pool_for(cluster: &TestCluster, db: &str) -> Pool {
    let config = common::config(cluster, db)
        .request_timeout(Duration::from_secs(5))
        .connect_timeout(Duration::from_secs(15));
    Pool::new(
        dqlite_client::Cluster::new(config),
        PoolOptions::default().max_size(8),
    )
}

/// A tmpfs mounted over a node's data directory, unmounted (lazily, in case a process
/// still holds it) when dropped.
struct Tmpfs {
    path: PathBuf,
}

impl Tmpfs {
    /// Moves what `path` holds onto a fresh tmpfs of `size` mounted over it.
    fn over(path: &Path, size: &str) -> Tmpfs {
        let saved = path.with_extension("saved");
        std::fs::rename(path, &saved).unwrap();
        std::fs::create_dir(path).unwrap();
        run(Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(path));
        let mount = Tmpfs {
            path: path.to_path_buf(),
        };
        run(Command::new("cp")
            .arg("-a")
            .arg(format!("{}/.", saved.display()))
            .arg(path));
        std::fs::remove_dir_all(&saved).unwrap();
        mount
    }

    /// Fills the filesystem with a file of zeros until no byte is left.
    fn fill(&self) -> PathBuf {
        use std::io::Write;
        let balloon = self.path.join("balloon");
        let mut file = std::fs::File::create(&balloon).unwrap();
        let chunk = vec![0u8; 1 << 16];
        while file.write_all(&chunk).is_ok() {}
        let _ = file.sync_all();
        balloon
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.path).status();
    }
}

fn run(command: &mut Command) {
    let out = command.output().unwrap();
    assert!(
        out.status.success(),
        "{command:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Makes node `index` the leader (transferring leadership to it if needed).
async fn make_leader(cluster: &TestCluster, index: usize) {
    let address = cluster.addresses()[index].clone();
    for _ in 0..10 {
        let leader = cluster.wait_for_leader(Duration::from_secs(30)).unwrap();
        if leader == index {
            return;
        }
        let id = cluster
            .members()
            .unwrap()
            .into_iter()
            .find(|m| m.address == address)
            .unwrap()
            .id;
        let client = common::client(cluster, "admin");
        let mut conn = client.connect_leader().await.unwrap();
        let _ = conn.transfer_leadership(Some(id)).await;
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    panic!("node {index} did not become the leader");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leader_on_a_full_disk_reports_its_writes_in_doubt() {
    let mut cluster = common::start(3);
    let target = cluster.wait_for_leader(Duration::from_secs(30)).unwrap();
    let data_dir = cluster.node(target).unwrap().data_dir;
    cluster.kill(target).unwrap();
    let tmpfs = Tmpfs::over(&data_dir, "48m");
    cluster.restart(target).unwrap();
    cluster.wait_healthy(Duration::from_secs(60)).unwrap();
    make_leader(&cluster, target).await;

    let pool = pool_for(&cluster, "in-doubt-disk");
    pool.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, pad BLOB)", &[])
        .await
        .unwrap();
    let balloon = tmpfs.fill();
    // Write until a few seconds after the first failure (the leader then usually hands
    // over to a node with room), or 20 s.
    let started = Instant::now();
    let first_failure = Mutex::new(None::<Instant>);
    let (mut tasks, outcomes) = writers(&pool, 4, 64 * 1024, move |o| {
        let mut first = first_failure.lock().unwrap();
        if first.is_none() && !(o.failed.is_empty() && o.in_doubt.is_empty()) {
            *first = Some(Instant::now());
        }
        started.elapsed() > Duration::from_secs(20)
            || first.is_some_and(|t| t.elapsed() > Duration::from_secs(3))
    });
    while tasks.join_next().await.is_some() {}
    // Free the disk so that the cluster settles, then read what was applied.
    std::fs::remove_file(&balloon).unwrap();
    cluster.wait_for_leader(Duration::from_secs(60)).unwrap();
    let present = ids(&pool).await;
    let outcomes = outcomes.lock().unwrap();
    outcomes.check("full disk", &present);
    assert!(
        !outcomes.failed.is_empty() || !outcomes.in_doubt.is_empty(),
        "the full disk failed no write: {outcomes:?}"
    );
    drop(pool);
    cluster.stop();
    drop(tmpfs);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leader_stopped_by_sigterm_reports_its_writes_in_doubt() {
    let mut cluster = common::start(3);
    let pool = pool_for(&cluster, "in-doubt-term");
    pool.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, pad BLOB)", &[])
        .await
        .unwrap();
    let started = Instant::now();
    let (mut tasks, outcomes) = writers(&pool, 6, 4096, move |_| {
        started.elapsed() > Duration::from_secs(12)
    });
    tokio::time::sleep(Duration::from_secs(2)).await;
    let leader = cluster.wait_for_leader(Duration::from_secs(30)).unwrap();
    let terminated =
        tokio::task::block_in_place(|| cluster.terminate(leader, Duration::from_secs(10)));
    terminated.unwrap();
    while tasks.join_next().await.is_some() {}
    cluster.wait_for_leader(Duration::from_secs(60)).unwrap();
    let present = ids(&pool).await;
    let outcomes = outcomes.lock().unwrap();
    outcomes.check("leader SIGTERM", &present);
    assert!(!outcomes.ok.is_empty(), "{outcomes:?}");
}
