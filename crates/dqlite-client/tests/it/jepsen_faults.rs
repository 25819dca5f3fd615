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

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use dqlite_client::{Cluster, Config, Pool, PoolOptions};
use dqlite_testkit::check::{Verdict, Workload};
use dqlite_testkit::{Delay, NetFaults, NodeProgram, Role, TestCluster};

pub use crate::jepsen::{full, report};
use crate::jepsen_workloads::{self as w, History, Run};

/// `fast` in the test command, `long` with `DQLITE_RELIABILITY_FULL=1`.
fn pick<T>(fast: T, long: T) -> T {
    if full() { long } else { fast }
}

/// A cluster of bare nodes with 30 ms network latency (elections in 0.45-0.9 s).
pub fn bare_cluster(nodes: usize) -> dqlite_testkit::TestClusterBuilder {
    TestCluster::builder()
        .nodes(nodes)
        .program(NodeProgram::Bare)
        .network_latency(Duration::from_millis(30))
}

/// A partitionable cluster of bare nodes with Jepsen's snapshot settings.
pub fn start_cluster(nodes: usize) -> TestCluster {
    bare_cluster(nodes)
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

/// A pool for the workloads of `cluster`.
pub fn workload_pool(cluster: &TestCluster) -> Pool {
    Pool::new(
        Cluster::new(client_config(cluster, "jepsen")),
        PoolOptions::default()
            .max_size(10)
            .acquire_timeout(Duration::from_secs(3)),
    )
}

/// The four workloads running on a pool, two workers each.
pub struct Workloads {
    pub run: Arc<Run>,
    histories: Vec<Arc<History>>,
    tasks: tokio::task::JoinSet<()>,
}

impl Workloads {
    /// (Re)creates the workloads' tables and starts the workers.
    pub async fn start(pool: &Pool) -> Workloads {
        let run = Run::new();
        let set = History::new(Workload::Set, &run);
        let register = History::new(Workload::Register, &run);
        let append = History::new(Workload::Append, &run);
        let bank = History::new(Workload::Bank, &run);
        w::drop_tables(pool).await;
        w::set_setup(pool).await;
        w::register_setup(pool).await;
        w::append_setup(pool).await;
        w::bank_setup(pool, &bank).await;
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
            histories: vec![set, register, append, bank],
            tasks,
        }
    }

    /// Stops the workers and waits for them.
    pub async fn stop(&mut self) {
        self.run.stop();
        while let Some(joined) = self.tasks.join_next().await {
            joined.unwrap();
        }
    }

    /// Takes the final reads (the cluster must be healed) and checks every history.
    pub async fn check(&self, pool: &Pool) -> Vec<(Verdict, BTreeMap<String, usize>)> {
        let [set, _register, append, bank] = self.histories.as_slice() else {
            unreachable!()
        };
        w::set_final(pool, set).await;
        w::append_final(pool, append).await;
        w::bank_final(pool, bank).await;
        self.histories
            .iter()
            .map(|h| (h.verdict(), h.errors()))
            .collect()
    }

    /// Per heal, the time to the first successful write that started after it.
    pub fn heal_to_write(&self, log: &FaultLog) -> Vec<String> {
        log.heals
            .iter()
            .map(|h| {
                self.run.first_write_after(*h).map_or("none".into(), |t| {
                    t.saturating_duration_since(*h).as_millis().to_string()
                })
            })
            .collect()
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
    let pool = workload_pool(&cluster);
    let mut workloads = Workloads::start(&pool).await;
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
    workloads.stop().await;
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
    let verdicts = workloads.check(&pool).await;
    let heal_to_write = workloads.heal_to_write(&log);
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

/// The members other than `leader`.
fn followers(cluster: &TestCluster, leader: usize) -> Vec<usize> {
    cluster
        .member_indices()
        .into_iter()
        .filter(|n| *n != leader)
        .collect()
}

/// Puts `faults` in force for `held`, heals, and waits until writes resume.
fn hold_network(
    cluster: &mut TestCluster,
    run: &Run,
    log: &mut FaultLog,
    faults: &NetFaults,
    held: Duration,
    what: &str,
) {
    cluster.set_network(faults).unwrap();
    hold(held);
    cluster.heal().unwrap();
    log.healed(run, what);
}

/// The leader cut from its followers (clients still reach it), then healed.
pub fn isolate_leader(cluster: &mut TestCluster, run: &Run, log: &mut FaultLog) {
    let l = leader(cluster);
    let faults = NetFaults::isolate(l, cluster.len());
    let held = Duration::from_millis(pick(1_500, 5_000));
    let what = format!("leader {l} isolated");
    hold_network(cluster, run, log, &faults, held, &what);
}

/// The leader and one follower in the minority, the others in the majority (5+ nodes).
pub fn majority_minority(cluster: &mut TestCluster, run: &Run, log: &mut FaultLog) {
    let l = leader(cluster);
    let others = followers(cluster, l);
    let minority = [l, others[0]];
    let faults = NetFaults::partition(&[&minority, &others[1..]]);
    let held = Duration::from_millis(pick(1_500, 5_000));
    let what = format!("minority {minority:?}");
    hold_network(cluster, run, log, &faults, held, &what);
}

/// `[leader, a] | b | [c, d]`: b sees both sides (5+ nodes).
pub fn bridge(cluster: &mut TestCluster, run: &Run, log: &mut FaultLog) {
    let l = leader(cluster);
    let others = followers(cluster, l);
    let (left, right) = ([l, others[0]], [others[2], others[3]]);
    let faults = NetFaults::partition(&[&left, &right]);
    let held = Duration::from_millis(pick(2_000, 6_000));
    let what = format!("bridge {} between {left:?} and {right:?}", others[1]);
    hold_network(cluster, run, log, &faults, held, &what);
}

/// Random two-way partitions switched every 0.3-1.2 s, healed 0.1-0.6 s in between.
pub fn flapping(cluster: &mut TestCluster, run: &Run, log: &mut FaultLog) {
    let mut rng = fastrand::Rng::new();
    let until = Instant::now() + Duration::from_millis(pick(3_000, 20_000));
    let mut flips = 0;
    while Instant::now() < until {
        let mut nodes = cluster.member_indices();
        rng.shuffle(&mut nodes);
        let cut = rng.usize(1..=nodes.len() / 2);
        cluster
            .set_network(&NetFaults::partition(&[&nodes[..cut], &nodes[cut..]]))
            .unwrap();
        hold(Duration::from_millis(rng.u64(300..1_200)));
        cluster.heal().unwrap();
        hold(Duration::from_millis(rng.u64(100..600)));
        flips += 1;
    }
    log.healed(run, &format!("{flips} flaps"));
}

/// 15 % loss and 25±10 ms delay between nodes, 5 % loss and 10±5 ms between clients and
/// nodes; then the leader is killed (an election under loss), restarted, and all healed.
pub fn packet(cluster: &mut TestCluster, run: &Run, log: &mut FaultLog) {
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
    hold(Duration::from_millis(pick(700, 3_000)));
    let l = leader(cluster);
    cluster.kill(l).unwrap();
    hold(Duration::from_millis(pick(1_500, 5_000)));
    cluster.restart(l).unwrap();
    cluster.heal().unwrap();
    log.healed(run, &format!("loss and delay, leader {l} killed"));
}

/// A voter added; a standby added and promoted; a follower demoted and removed; leadership
/// handed to the new voter; another voter removed without demotion. Keeps the number of
/// members.
pub fn membership(cluster: &mut TestCluster, run: &Run, log: &mut FaultLog) {
    let added = cluster.grow(Role::Voter).unwrap();
    log.healed(run, &format!("node {added} added as voter"));
    let standby = cluster.grow(Role::Standby).unwrap();
    cluster.assign_role(standby, Role::Voter).unwrap();
    log.healed(run, &format!("node {standby} added as standby, promoted"));
    let l = leader(cluster);
    let victim = cluster
        .member_indices()
        .into_iter()
        .find(|n| *n != l && *n != added && *n != standby)
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
        .find(|n| *n != l && *n != standby)
        .unwrap();
    cluster.remove_member(victim).unwrap();
    cluster.kill(victim).unwrap();
    log.healed(run, &format!("voter {victim} removed without demotion"));
}

/// Every node SIGKILLed at once, then all restarted.
pub fn crash(cluster: &mut TestCluster, run: &Run, log: &mut FaultLog) {
    cluster.stop();
    hold(Duration::from_millis(pick(500, 2_000)));
    cluster.restart_members().unwrap();
    log.healed(run, "every node SIGKILLed and restarted");
}

/// Each follower in turn SIGKILLed and restarted, the cluster healthy again in between.
pub fn rolling_restart(cluster: &mut TestCluster, run: &Run, log: &mut FaultLog) {
    let l = leader(cluster);
    for follower in cluster.member_indices().into_iter().filter(|n| *n != l) {
        cluster.kill(follower).unwrap();
        hold(Duration::from_millis(pick(300, 1_000)));
        cluster.restart(follower).unwrap();
        cluster.wait_healthy(Duration::from_secs(30)).unwrap();
        log.healed(run, &format!("follower {follower} restarted"));
    }
}

/// A fault of the nemesis.
pub type Fault = fn(&mut TestCluster, &Run, &mut FaultLog);

/// `fault` run `fast` times in the test command, `long` times in the long form.
fn repeat(
    fast: usize,
    long: usize,
    fault: Fault,
) -> impl FnOnce(&mut TestCluster, &Run, &mut FaultLog) {
    move |cluster, run, log| {
        for _ in 0..pick(fast, long) {
            fault(cluster, run, log);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jepsen_fault_partition_isolated_leader() {
    scenario("partition-leader", 3, repeat(1, 4, isolate_leader)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jepsen_fault_partition_majority_minority() {
    scenario("partition-majority", 5, repeat(1, 4, majority_minority)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jepsen_fault_partition_bridge() {
    scenario("partition-bridge", 5, repeat(1, 4, bridge)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jepsen_fault_partition_flapping() {
    scenario("partition-flapping", 5, flapping).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jepsen_fault_packet_loss_and_delay_with_an_election() {
    scenario("packet", 3, repeat(1, 3, packet)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jepsen_fault_membership_churn() {
    scenario("membership", 3, repeat(1, 3, membership)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jepsen_fault_whole_cluster_crash_and_rolling_restarts() {
    scenario("crash", 3, |cluster, run, log| {
        for _ in 0..pick(1, 3) {
            crash(cluster, run, log);
        }
        for _ in 0..pick(1, 2) {
            rolling_restart(cluster, run, log);
        }
    })
    .await;
}
