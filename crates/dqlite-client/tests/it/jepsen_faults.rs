//! Jepsen-style fault scenarios through the Rust client: network partitions (leader
//! isolated, majority/minority, bridge, flapping), packet delay and loss with an election
//! under loss, membership churn, and whole-cluster crashes with rolling restarts. Each
//! runs the four workloads of `jepsen_workloads.rs` at once (set, register, list-append,
//! bank) on a partitionable cluster of bare nodes (sub-second elections, aggressive Raft
//! snapshots), then checks every history with `dqlite_testkit::check`.
//!
//! Each scenario prints one summary line (appended to `$DQLITE_RELIABILITY_LOG` when set):
//! per workload the operations, acknowledged, lost, duplicated, in-doubt (and applied)
//! writes and the checker's verdict; and per fault, the time from healing to the first
//! successful write. `DQLITE_RELIABILITY_FULL=1` runs more rounds with longer faults:
//!
//! ```sh
//! DQLITE_RELIABILITY_FULL=1 cargo test -p dqlite-client --test it jepsen_fault -- --test-threads=1 --nocapture
//! ```

use std::sync::Arc;
use std::time::{Duration, Instant};

use dqlite_client::{Cluster, Config, Pool, PoolOptions};
use dqlite_testkit::check::Workload;
use dqlite_testkit::{Delay, NetFaults, NodeProgram, Role, TestCluster};

use crate::jepsen_workloads::{self as w, History, Run};

fn full() -> bool {
    std::env::var("DQLITE_RELIABILITY_FULL").is_ok_and(|v| v == "1")
}

/// `fast` in the test command, `long` with `DQLITE_RELIABILITY_FULL=1`.
fn pick<T>(fast: T, long: T) -> T {
    if full() { long } else { fast }
}

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

/// A partitionable cluster of bare nodes with 30 ms network latency (elections in
/// 0.45-0.9 s) and Jepsen's snapshot settings.
fn start_cluster(nodes: usize) -> TestCluster {
    TestCluster::builder()
        .nodes(nodes)
        .program(NodeProgram::Bare)
        .network_latency(Duration::from_millis(30))
        .snapshots(128, 1024)
        .partitionable(true)
        .start()
        .expect("start a partitionable cluster")
}

pub fn client_config(cluster: &TestCluster, db: &str) -> Config {
    Config::new(cluster.addresses())
        .unwrap()
        .database(db)
        .request_timeout(Duration::from_secs(1))
        .dial_timeout(Duration::from_millis(500))
        .connect_timeout(Duration::from_secs(3))
}

/// What the nemesis did: when each fault was healed.
#[derive(Default)]
pub struct FaultLog {
    heals: Vec<Instant>,
    notes: Vec<String>,
}

impl FaultLog {
    /// Notes that a fault just ended, and waits until a write succeeds again (so that
    /// the next fault hits a working cluster).
    pub fn healed(&mut self, run: &Run, what: &str) {
        let at = Instant::now();
        self.heals.push(at);
        let recovered = run.wait_write_after(at, Duration::from_secs(30));
        assert!(
            recovered.is_some(),
            "no write succeeded within 30 s of healing {what}"
        );
        let ms = at.saturating_duration_since(run.started).as_millis();
        self.notes.push(format!("{what} @{ms}ms"));
    }
}

/// The workloads of one scenario.
struct Workloads {
    run: Arc<Run>,
    pool: Pool,
    histories: Vec<Arc<History>>,
    tasks: tokio::task::JoinSet<()>,
}

async fn start_workloads(cluster: &TestCluster) -> Workloads {
    let run = Run::new();
    let pool = Pool::new(
        Cluster::new(client_config(cluster, "jepsen")),
        PoolOptions::default()
            .max_size(10)
            .acquire_timeout(Duration::from_secs(3)),
    );
    let set = History::new(Workload::Set, &run);
    let register = History::new(Workload::Register, &run);
    let append = History::new(Workload::Append, &run);
    let bank = History::new(Workload::Bank, &run);
    w::set_setup(&pool).await;
    w::register_setup(&pool).await;
    w::append_setup(&pool).await;
    w::bank_setup(&pool, &bank).await;
    let mut tasks = tokio::task::JoinSet::new();
    for p in 0..2 {
        tasks.spawn(w::set_worker(pool.clone(), Arc::clone(&set), p));
        tasks.spawn(w::register_worker(
            pool.clone(),
            Arc::clone(&register),
            10 + p,
        ));
        tasks.spawn(w::append_worker(pool.clone(), Arc::clone(&append), 20 + p));
        tasks.spawn(w::bank_worker(pool.clone(), Arc::clone(&bank), 30 + p));
    }
    Workloads {
        run,
        pool,
        histories: vec![set, register, append, bank],
        tasks,
    }
}

/// Runs the workloads on a fresh `nodes`-node cluster while `nemesis` injects faults,
/// then heals everything, takes the final reads and checks every history.
async fn scenario<F>(name: &str, nodes: usize, nemesis: F)
where
    F: FnOnce(&mut TestCluster, &Run, &mut FaultLog) + Send + 'static,
{
    let cluster = start_cluster(nodes);
    let version = cluster.version();
    let mut workloads = start_workloads(&cluster).await;
    let run = Arc::clone(&workloads.run);
    let started = Instant::now();
    let (mut cluster, log) = tokio::task::spawn_blocking(move || {
        let mut cluster = cluster;
        let mut log = FaultLog::default();
        std::thread::sleep(Duration::from_millis(pick(500, 2_000)));
        nemesis(&mut cluster, &run, &mut log);
        std::thread::sleep(Duration::from_millis(pick(500, 2_000)));
        (cluster, log)
    })
    .await
    .unwrap();
    workloads.run.stop();
    while let Some(joined) = workloads.tasks.join_next().await {
        joined.unwrap();
    }
    let elapsed = started.elapsed();
    let gap = workloads
        .run
        .longest_write_gap(workloads.run.started, Instant::now());
    let cluster = tokio::task::spawn_blocking(move || {
        cluster.heal().unwrap();
        cluster.wait_healthy(Duration::from_secs(30)).unwrap();
        cluster
    })
    .await
    .unwrap();
    let [set, register, append, bank] = workloads.histories.as_slice() else {
        unreachable!()
    };
    w::set_final(&workloads.pool, set).await;
    w::append_final(&workloads.pool, append).await;
    w::bank_final(&workloads.pool, bank).await;
    let heal_to_write: Vec<String> = log
        .heals
        .iter()
        .map(|h| {
            workloads
                .run
                .first_write_after(*h)
                .map_or("none".into(), |t| {
                    t.saturating_duration_since(*h).as_millis().to_string()
                })
        })
        .collect();
    let verdicts: Vec<_> = [set, register, append, bank]
        .iter()
        .map(|h| (h.verdict(), h.errors()))
        .collect();
    let mut line = format!(
        "reliability fault {name} [dqlite {version}, rust, {}]: {:.1}s faults={} heal->write_ms=[{}] \
         longest_write_gap_ms={} ({})",
        if full() { "full" } else { "fast" },
        elapsed.as_secs_f64(),
        log.heals.len(),
        heal_to_write.join(","),
        gap.as_millis(),
        log.notes.join("; "),
    );
    for (verdict, errors) in &verdicts {
        line.push_str(&format!(" | {} errors={errors:?}", verdict.summary()));
    }
    report(&line);
    for (verdict, _) in &verdicts {
        assert!(verdict.valid, "{name}: {}", verdict.summary());
        assert!(
            verdict.acknowledged > 0,
            "{name}: no progress: {}",
            verdict.summary()
        );
    }
    assert!(
        heal_to_write.iter().all(|t| t != "none"),
        "{name}: {heal_to_write:?}"
    );
    drop(cluster);
}

fn leader(cluster: &TestCluster) -> usize {
    cluster
        .wait_for_leader(Duration::from_secs(30))
        .expect("a leader")
}

fn hold(d: Duration) {
    std::thread::sleep(d);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jepsen_fault_partition_isolated_leader() {
    scenario("partition-leader", 3, |cluster, run, log| {
        for _ in 0..pick(1, 4) {
            let l = leader(cluster);
            cluster
                .set_network(&NetFaults::isolate(l, cluster.len()))
                .unwrap();
            hold(Duration::from_millis(pick(2_000, 5_000)));
            cluster.heal().unwrap();
            log.healed(run, &format!("leader {l} isolated"));
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jepsen_fault_partition_majority_minority() {
    scenario("partition-majority", 5, |cluster, run, log| {
        for _ in 0..pick(1, 4) {
            let l = leader(cluster);
            let others: Vec<usize> = (0..cluster.len()).filter(|n| *n != l).collect();
            // The leader and one follower in the minority.
            let minority = [l, others[0]];
            cluster
                .set_network(&NetFaults::partition(&[&minority, &others[1..]]))
                .unwrap();
            hold(Duration::from_millis(pick(2_000, 5_000)));
            cluster.heal().unwrap();
            log.healed(run, &format!("minority {minority:?}"));
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jepsen_fault_partition_bridge() {
    scenario("partition-bridge", 5, |cluster, run, log| {
        for _ in 0..pick(1, 4) {
            let l = leader(cluster);
            let others: Vec<usize> = (0..cluster.len()).filter(|n| *n != l).collect();
            // [leader, a] | b | [c, d]: b sees both sides.
            let left = [l, others[0]];
            let right = [others[2], others[3]];
            cluster
                .set_network(&NetFaults::partition(&[&left, &right]))
                .unwrap();
            hold(Duration::from_millis(pick(2_500, 6_000)));
            cluster.heal().unwrap();
            log.healed(
                run,
                &format!("bridge {} between {left:?} and {right:?}", others[1]),
            );
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jepsen_fault_partition_flapping() {
    scenario("partition-flapping", 5, |cluster, run, log| {
        let mut rng = fastrand::Rng::new();
        let until = Instant::now() + Duration::from_millis(pick(4_000, 20_000));
        let mut flips = 0;
        while Instant::now() < until {
            let mut nodes: Vec<usize> = (0..cluster.len()).collect();
            rng.shuffle(&mut nodes);
            let cut = rng.usize(1..=2);
            cluster
                .set_network(&NetFaults::partition(&[&nodes[..cut], &nodes[cut..]]))
                .unwrap();
            hold(Duration::from_millis(rng.u64(300..1_200)));
            cluster.heal().unwrap();
            hold(Duration::from_millis(rng.u64(100..600)));
            flips += 1;
        }
        cluster.heal().unwrap();
        log.healed(run, &format!("{flips} flaps"));
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jepsen_fault_packet_loss_and_delay_with_an_election() {
    scenario("packet", 3, |cluster, run, log| {
        for _ in 0..pick(1, 3) {
            let mut faults = NetFaults::none();
            faults.node_loss = 0.15;
            faults.node_delay = Some(Delay::new(
                Duration::from_millis(25),
                Duration::from_millis(10),
            ));
            faults.client_loss = 0.05;
            faults.client_delay = Some(Delay::new(
                Duration::from_millis(10),
                Duration::from_millis(5),
            ));
            cluster.set_network(&faults).unwrap();
            hold(Duration::from_millis(pick(1_000, 3_000)));
            // An election under loss and delay.
            let l = leader(cluster);
            cluster.kill(l).unwrap();
            hold(Duration::from_millis(pick(2_000, 5_000)));
            cluster.restart(l).unwrap();
            cluster.heal().unwrap();
            log.healed(run, &format!("loss and delay, leader {l} killed"));
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jepsen_fault_membership_churn() {
    scenario("membership", 3, |cluster, run, log| {
        for _ in 0..pick(1, 3) {
            // Add a voter, and a standby promoted to voter.
            let added = cluster.grow(Role::Voter).unwrap();
            log.healed(run, &format!("node {added} added as voter"));
            let standby = cluster.grow(Role::Standby).unwrap();
            cluster.assign_role(standby, Role::Voter).unwrap();
            log.healed(run, &format!("node {standby} added as standby, promoted"));
            // Demote and remove a voter that does not lead, then stop it.
            let l = leader(cluster);
            let victim = cluster
                .member_indices()
                .into_iter()
                .find(|n| *n != l && *n != added)
                .unwrap();
            cluster.assign_role(victim, Role::Spare).unwrap();
            cluster.remove_member(victim).unwrap();
            cluster.kill(victim).unwrap();
            log.healed(run, &format!("node {victim} demoted and removed"));
            cluster.transfer_leadership(Some(added)).unwrap();
            log.healed(run, &format!("leadership to {added}"));
            let l = leader(cluster);
            let victim = cluster
                .member_indices()
                .into_iter()
                .find(|n| *n != l)
                .unwrap();
            cluster.remove_member(victim).unwrap();
            cluster.kill(victim).unwrap();
            log.healed(run, &format!("voter {victim} removed without demotion"));
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jepsen_fault_whole_cluster_crash_and_rolling_restarts() {
    scenario("crash", 3, |cluster, run, log| {
        for _ in 0..pick(1, 3) {
            cluster.stop();
            hold(Duration::from_millis(pick(500, 2_000)));
            cluster.restart_members().unwrap();
            log.healed(run, "every node SIGKILLed and restarted");
        }
        for _ in 0..pick(1, 2) {
            let l = leader(cluster);
            for follower in cluster.member_indices().into_iter().filter(|n| *n != l) {
                cluster.kill(follower).unwrap();
                hold(Duration::from_millis(pick(300, 1_000)));
                cluster.restart(follower).unwrap();
                cluster.wait_healthy(Duration::from_secs(30)).unwrap();
                log.healed(run, &format!("follower {follower} restarted"));
            }
        }
    })
    .await;
}
