//! The soak: mixed faults under the four workloads for a long time (30 minutes by
//! default), with the client process's live heap, resident memory and open file
//! descriptors sampled every 10 s. Not part of the test command:
//!
//! ```sh
//! MALLOC_ARENA_MAX=2 DQLITE_SOAK_SECS=1800 cargo test --release -p dqlite-client --test it jepsen_soak -- --ignored --nocapture
//! ```
//!
//! One pool lives through the whole soak. The run is cut into epochs of about two and a
//! half minutes (`DQLITE_SOAK_EPOCH_SECS`, default 150): each recreates the workloads'
//! tables, runs the workloads while random faults (every kind of the fault scenarios)
//! come and go, heals, takes the final reads and checks the histories, which are then
//! dropped (so that the histories themselves do not grow the process). Memory is judged
//! at the end of each epoch against the end of the first (warm-up): the live heap (bytes
//! allocated and not freed, counted by the test binary's allocator: the client's own
//! memory, load-independent) may not grow by more than [`HEAP_BOUND_KIB`], resident memory
//! by more than [`RSS_BOUND_KIB`], open file descriptors by more than [`FD_BOUND`];
//! threads and each epoch's peak of the live heap are reported beside them.
//! `MALLOC_ARENA_MAX=2` caps glibc's arenas, each of which keeps the high-water mark of
//! what its threads allocated (see [`RSS_BOUND_KIB`]). At the end the report splits the
//! live heap between the pool, the test cluster and the rest.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::heap;
use crate::jepsen_faults::{self as f, Fault, FaultLog, Workloads};

/// Growth of the live heap allowed from the end of the first epoch to the end of any later
/// one. At an epoch's end the histories are dropped, so what is left is the client (pool,
/// connections, node store, tasks), the runtime and the test's own small records: about
/// 250 KiB. A leak of 7 bytes per operation would pass this bound in the 150,000 or so
/// operations of a 30-minute soak; the client is pure Rust, so all its memory is counted.
const HEAP_BOUND_KIB: u64 = 1024;
/// Growth of resident memory allowed likewise. Resident memory also holds what glibc's
/// malloc keeps after a free (an arena keeps the high-water mark of what its threads
/// allocated: while an epoch runs, its histories and the checkers' graphs, 17-37 MiB in
/// epochs of 150 s) and the pages of the binary's code as they are first run, neither
/// of which is the client's doing: judge it with `MALLOC_ARENA_MAX=2` (the command in
/// the module docs), which the report states. Without it, each of up to 8 arenas per core
/// keeps its own high-water mark, and the bound can fail with no growth of the heap.
const RSS_BOUND_KIB: u64 = 16 * 1024;
/// Growth of open file descriptors allowed likewise (the pool holds up to 10 sockets).
const FD_BOUND: i64 = 8;
const SAMPLE_EVERY: Duration = Duration::from_secs(10);
/// How often the live heap is read for its peak.
const PEAK_EVERY: Duration = Duration::from_millis(250);

/// What one reading of the process shows.
#[derive(Debug, Clone, Copy)]
struct Sample {
    /// Seconds since the start.
    t: u64,
    /// Resident memory, all of it and its anonymous part (heap, stacks), KiB.
    rss: u64,
    rss_anon: u64,
    fds: i64,
    threads: u64,
    /// Bytes allocated through Rust and not yet freed, KiB.
    heap: u64,
}

fn sample(started: Instant) -> Sample {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let number = |field: &str| {
        status
            .lines()
            .find(|l| l.starts_with(field))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|n| n.parse().ok())
            .unwrap_or(0)
    };
    Sample {
        t: started.elapsed().as_secs(),
        rss: number("VmRSS:"),
        rss_anon: number("RssAnon:"),
        fds: std::fs::read_dir("/proc/self/fd").map_or(0, |d| d.count() as i64),
        threads: number("Threads:"),
        heap: (heap::live_bytes() / 1024) as u64,
    }
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
    // The test's own records get their room up front, so that they do not grow the heap
    // between epoch ends (room for twice the expected length).
    let room = |every: u64| 2 * (total.as_secs() / every.max(1)) as usize + 16;
    let mut first_samples = Vec::with_capacity(room(SAMPLE_EVERY.as_secs()));
    first_samples.push(sample(started));
    let samples = Arc::new(Mutex::new(first_samples));
    let sampling = Arc::new(AtomicBool::new(true));
    // The live heap's peak since the last epoch ended (read every `PEAK_EVERY`).
    let heap_peak = Arc::new(AtomicUsize::new(0));
    let sampler = {
        let (samples, sampling, heap_peak) = (
            Arc::clone(&samples),
            Arc::clone(&sampling),
            Arc::clone(&heap_peak),
        );
        std::thread::spawn(move || {
            let mut next = Instant::now() + SAMPLE_EVERY;
            while sampling.load(Ordering::Acquire) {
                std::thread::sleep(PEAK_EVERY);
                heap_peak.fetch_max(heap::live_bytes(), Ordering::Relaxed);
                if Instant::now() >= next {
                    next += SAMPLE_EVERY;
                    samples.lock().unwrap().push(sample(started));
                }
            }
        })
    };
    let mut cluster = f::start_cluster(5);
    let version = cluster.version();
    let pool = f::workload_pool(&cluster);
    let mut epoch_ends: Vec<Sample> = Vec::with_capacity(room(epoch_length.as_secs()));
    let mut heap_peaks: Vec<usize> = Vec::with_capacity(room(epoch_length.as_secs()));
    let mut nodes_started: Vec<usize> = Vec::with_capacity(room(epoch_length.as_secs()));
    let mut totals = (0usize, 0usize, 0usize, 0usize); // operations, acknowledged, in doubt, applied
    // A fault every 3 s at most; a heal or two per fault.
    let mut faults_run: Vec<&str> = Vec::with_capacity(room(3));
    let mut heals: Vec<String> = Vec::with_capacity(room(1));
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
        drop(verdicts);
        drop(workloads);
        faults_run.extend(kinds);
        let end = sample(started);
        let peak = heap_peak.swap(0, Ordering::Relaxed) / 1024;
        eprintln!(
            "soak epoch {epoch} at {} s: rss {} KiB (anon {}), fds {}, threads {}, live heap \
             {} KiB (peak in the epoch {peak} KiB), pool {:?}, test-kit nodes {}",
            end.t,
            end.rss,
            end.rss_anon,
            end.fds,
            end.threads,
            end.heap,
            pool.stats(),
            cluster.len()
        );
        epoch_ends.push(end);
        heap_peaks.push(peak);
        nodes_started.push(cluster.len());
    }
    // Who holds the heap at the end: the client (its pool), the test kit (its cluster,
    // which keeps a record of every node it ever started), and the rest (runtime, the
    // test's records).
    let end_heap = heap::live_bytes() / 1024;
    drop(pool);
    tokio::time::sleep(Duration::from_millis(100)).await;
    let without_pool = heap::live_bytes() / 1024;
    let nodes_at_end = cluster.len();
    drop(cluster);
    let without_cluster = heap::live_bytes() / 1024;
    sampling.store(false, Ordering::Release);
    sampler.join().unwrap();
    let samples = samples.lock().unwrap().clone();
    let first = epoch_ends[0];
    let last = *epoch_ends.last().unwrap();
    let worst_heap = epoch_ends.iter().map(|s| s.heap).max().unwrap();
    let worst_rss = epoch_ends.iter().map(|s| s.rss).max().unwrap();
    let worst_fds = epoch_ends.iter().map(|s| s.fds).max().unwrap();
    let peak_rss = samples.iter().map(|s| s.rss).max().unwrap();
    let peak_fds = samples.iter().map(|s| s.fds).max().unwrap();
    let mut by_kind = std::collections::BTreeMap::<&str, usize>::new();
    for k in &faults_run {
        *by_kind.entry(*k).or_default() += 1;
    }
    let column =
        |field: fn(&Sample) -> String| epoch_ends.iter().map(field).collect::<Vec<_>>().join(",");
    let arenas = std::env::var("MALLOC_ARENA_MAX").unwrap_or_else(|_| "unset".into());
    f::report(&format!(
        "reliability soak [dqlite {version}]: {:.0}s epochs={epoch} faults={by_kind:?} \
         operations={} acknowledged={} in_doubt={} (applied {}) all epochs VALID | \
         at epoch ends: live_heap_kib={} (peaks within epochs {heap_peaks:?}; test-kit \
         nodes {nodes_started:?}) rss_kib={} \
         rss_anon_kib={} fds={} threads={} | rss peak={peak_rss} KiB, fds peak={peak_fds} | \
         MALLOC_ARENA_MAX={arenas} | heap at the end {end_heap} KiB: the pool held {} KiB, \
         the test cluster ({nodes_at_end} nodes) {} KiB, the rest {without_cluster} KiB | \
         heal->write_ms={heals:?} | \
         samples(t,rss_kib,rss_anon_kib,fds,threads,heap_kib)={:?}",
        started.elapsed().as_secs_f64(),
        totals.0,
        totals.1,
        totals.2,
        totals.3,
        column(|s| s.heap.to_string()),
        column(|s| s.rss.to_string()),
        column(|s| s.rss_anon.to_string()),
        column(|s| s.fds.to_string()),
        column(|s| s.threads.to_string()),
        end_heap.saturating_sub(without_pool),
        without_pool.saturating_sub(without_cluster),
        samples
            .iter()
            .map(|s| (s.t, s.rss, s.rss_anon, s.fds, s.threads, s.heap))
            .collect::<Vec<_>>(),
    ));
    assert!(
        worst_heap <= first.heap + HEAP_BOUND_KIB,
        "the live heap grew from {} KiB to {worst_heap} KiB (bound {HEAP_BOUND_KIB} KiB)",
        first.heap
    );
    assert!(
        worst_rss <= first.rss + RSS_BOUND_KIB,
        "resident memory grew from {} KiB to {worst_rss} KiB (bound {RSS_BOUND_KIB} KiB, \
         MALLOC_ARENA_MAX={arenas}); the live heap from {} KiB to {worst_heap} KiB",
        first.rss,
        first.heap
    );
    assert!(
        worst_fds <= first.fds + FD_BOUND,
        "open descriptors grew from {} to {worst_fds} (bound {FD_BOUND})",
        first.fds
    );
    eprintln!("soak done at {} s", last.t);
}
