//! The soak: mixed faults under the four workloads for a long time (30 minutes by
//! default), with the client process's resident memory and open file descriptors sampled
//! every 10 s. Not part of the test command:
//!
//! ```sh
//! DQLITE_SOAK_SECS=1800 cargo test --release -p dqlite-client --test it jepsen_soak -- --ignored --nocapture
//! ```
//!
//! One pool lives through the whole soak. The run is cut into epochs of about two and a
//! half minutes (`DQLITE_SOAK_EPOCH_SECS`, default 150): each recreates the workloads' tables, runs the workloads while random
//! faults (every kind of the fault scenarios) come and go, heals, takes the final reads and
//! checks the histories, which are then dropped (so that the histories themselves do not
//! grow the process). Memory is judged at the end of each epoch: after the first epoch
//! (warm-up), resident memory may not grow by more than [`RSS_BOUND_KIB`], nor open file
//! descriptors by more than [`FD_BOUND`].

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::jepsen_faults::{self as f, Fault, FaultLog, Workloads};

/// Growth of resident memory allowed from the end of the first epoch to the end of any
/// later one.
const RSS_BOUND_KIB: u64 = 16 * 1024;
/// Growth of open file descriptors allowed likewise (the pool holds up to 10 sockets).
const FD_BOUND: i64 = 8;
const SAMPLE_EVERY: Duration = Duration::from_secs(10);

/// (seconds since start, resident KiB, open descriptors).
type Sample = (u64, u64, i64);

fn sample(started: Instant) -> Sample {
    let rss = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1).map(str::to_owned))
        })
        .and_then(|kib| kib.parse().ok())
        .unwrap_or(0);
    let fds = std::fs::read_dir("/proc/self/fd").map_or(0, |d| d.count() as i64);
    (started.elapsed().as_secs(), rss, fds)
}

const FAULTS: [(&str, Fault); 9] = [
    ("isolate-leader", f::isolate_leader),
    ("majority", f::majority_minority),
    ("bridge", f::bridge),
    ("flapping", f::flapping),
    ("packet", f::packet),
    ("membership", f::membership),
    ("crash", f::crash),
    ("rolling-restart", f::rolling_restart),
    ("quiet", |_, _, _| {
        std::thread::sleep(Duration::from_secs(5))
    }),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a 30-minute soak: run it with --ignored (see the module docs)"]
async fn jepsen_soak() {
    let seconds = |name: &str, default: u64| {
        Duration::from_secs(
            std::env::var(name)
                .ok()
                .and_then(|s| s.parse().ok())
                .unwrap_or(default),
        )
    };
    let total = seconds("DQLITE_SOAK_SECS", 1800);
    let epoch_length = seconds("DQLITE_SOAK_EPOCH_SECS", 150);
    let started = Instant::now();
    let samples = Arc::new(Mutex::new(vec![sample(started)]));
    let sampling = Arc::new(AtomicBool::new(true));
    let sampler = {
        let (samples, sampling) = (Arc::clone(&samples), Arc::clone(&sampling));
        std::thread::spawn(move || {
            while sampling.load(Ordering::Acquire) {
                std::thread::sleep(SAMPLE_EVERY);
                samples.lock().unwrap().push(sample(started));
            }
        })
    };
    let mut cluster = f::start_cluster(5);
    let version = cluster.version();
    let pool = f::workload_pool(&cluster);
    let mut epoch_ends: Vec<Sample> = Vec::new();
    let mut totals = (0usize, 0usize, 0usize, 0usize); // operations, acknowledged, in doubt, applied
    let mut faults_run: Vec<&str> = Vec::new();
    let mut heals: Vec<String> = Vec::new();
    let mut epoch = 0;
    while started.elapsed() < total {
        epoch += 1;
        let mut workloads = Workloads::start(&pool).await;
        let run = Arc::clone(&workloads.run);
        let until = Instant::now() + epoch_length.min(total.saturating_sub(started.elapsed()));
        let (back, log, kinds) = tokio::task::spawn_blocking(move || {
            let mut log = FaultLog::default();
            let mut kinds = Vec::new();
            let mut rng = fastrand::Rng::new();
            while Instant::now() < until {
                let (name, fault) = FAULTS[rng.usize(..FAULTS.len())];
                fault(&mut cluster, &run, &mut log);
                kinds.push(name);
                std::thread::sleep(Duration::from_secs(rng.u64(3..10)));
            }
            cluster.heal().unwrap();
            cluster.wait_healthy(Duration::from_secs(60)).unwrap();
            (cluster, log, kinds)
        })
        .await
        .unwrap();
        cluster = back;
        workloads.stop().await;
        let verdicts = workloads.check(&pool).await;
        heals.extend(workloads.heal_to_write(&log));
        for (verdict, _) in &verdicts {
            assert!(verdict.valid, "epoch {epoch}: {}", verdict.summary());
            totals.0 += verdict.operations;
            totals.1 += verdict.acknowledged;
            totals.2 += verdict.in_doubt;
            totals.3 += verdict.in_doubt_applied;
        }
        drop(workloads);
        faults_run.extend(kinds);
        let end = sample(started);
        eprintln!(
            "soak epoch {epoch} at {} s: rss {} KiB, fds {}, faults {:?}",
            end.0, end.1, end.2, faults_run
        );
        epoch_ends.push(end);
    }
    sampling.store(false, Ordering::Release);
    sampler.join().unwrap();
    let samples = samples.lock().unwrap().clone();
    let (_, base_rss, base_fds) = epoch_ends[0];
    let worst_rss = epoch_ends.iter().map(|s| s.1).max().unwrap();
    let worst_fds = epoch_ends.iter().map(|s| s.2).max().unwrap();
    let (last_t, last_rss, last_fds) = *epoch_ends.last().unwrap();
    let peak_rss = samples.iter().map(|s| s.1).max().unwrap();
    let peak_fds = samples.iter().map(|s| s.2).max().unwrap();
    let mut by_kind = std::collections::BTreeMap::<&str, usize>::new();
    for k in &faults_run {
        *by_kind.entry(*k).or_default() += 1;
    }
    f::report(&format!(
        "reliability soak [dqlite {version}]: {:.0}s epochs={epoch} faults={by_kind:?} \
         operations={} acknowledged={} in_doubt={} (applied {}) all epochs VALID | \
         rss_kib first-epoch={base_rss} last={last_rss} max-at-epoch-end={worst_rss} \
         peak={peak_rss} | fds first-epoch={base_fds} last={last_fds} max-at-epoch-end={worst_fds} \
         peak={peak_fds} | heal->write_ms={heals:?} | samples(t,rss_kib,fds)={samples:?}",
        started.elapsed().as_secs_f64(),
        totals.0,
        totals.1,
        totals.2,
        totals.3,
    ));
    assert!(
        worst_rss <= base_rss + RSS_BOUND_KIB,
        "resident memory grew from {base_rss} KiB to {worst_rss} KiB (bound {RSS_BOUND_KIB} KiB)"
    );
    assert!(
        worst_fds <= base_fds + FD_BOUND,
        "open descriptors grew from {base_fds} to {worst_fds} (bound {FD_BOUND})"
    );
    eprintln!("soak done at {last_t} s");
}
