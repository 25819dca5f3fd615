//! What the suite runs: the workloads (sizes, what each measures, what it is compared
//! with, the targets it is judged on) and which clients run which.

/// What a workload's figure is.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Metric {
    /// Median latency in µs (lower is better); the worker also reports p99.
    Latency,
    /// A rate in the given unit (higher is better).
    Rate(&'static str),
    /// Client memory per connection in KiB (lower is better).
    MemoryPerConn,
}

impl Metric {
    /// Whether a higher figure is better.
    pub fn higher_is_better(self) -> bool {
        matches!(self, Metric::Rate(_))
    }

    /// The key of the worker's JSON result that holds the figure.
    pub fn key(self) -> &'static str {
        match self {
            Metric::Latency => "median_us",
            Metric::Rate(_) => "per_s",
            Metric::MemoryPerConn => "kib_per_conn",
        }
    }

    /// The unit, for table headings.
    pub fn unit(self) -> &'static str {
        match self {
            Metric::Latency => "µs",
            Metric::Rate(unit) => unit,
            Metric::MemoryPerConn => "KiB per connection",
        }
    }
}

/// What a workload's ratios are taken against.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Baseline {
    /// The raw-socket floor (`raw`).
    Floor,
    /// The pure-Python reference in the same mode (`peer-python` for sync clients,
    /// `peer-python-aio` for asyncio ones).
    Reference,
    /// go-dqlite's `database/sql` driver.
    Go,
}

impl Baseline {
    /// The client a row of `client` is compared with.
    pub fn client_for(self, client: &str) -> &'static str {
        match self {
            Baseline::Floor => FLOOR,
            Baseline::Go => GO,
            Baseline::Reference if client.ends_with("-aio") => "peer-python-aio",
            Baseline::Reference => "peer-python",
        }
    }
}

/// Which node's address a worker is given.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Seed {
    /// The leader: the client finds it at the first try.
    Leader,
    /// A follower: the client must ask it for the leader and connect again (a cold
    /// cluster view).
    Follower,
}

/// A bound a client's figure must meet.
#[derive(Clone, Copy)]
pub enum Bound {
    /// Paired ratio to the row's baseline at most / at least this.
    RatioAtMost(f64),
    RatioAtLeast(f64),
    /// Paired ratio to go-dqlite's figure (same repetition) at least this.
    VsGoAtLeast(f64),
    /// Median client CPU per operation (µs) at most this.
    CpuAtMost(f64),
    /// Median over repetitions of p99 / median at most this.
    TailAtMost(f64),
}

/// A target: a client and its bound, with the issue that set it.
#[derive(Clone, Copy)]
pub struct Target {
    pub client: &'static str,
    pub bound: Bound,
    pub source: &'static str,
}

const fn target(client: &'static str, bound: Bound, source: &'static str) -> Target {
    Target {
        client,
        bound,
        source,
    }
}

/// One workload as the suite runs and reports it.
pub struct Spec {
    /// Name in the report and for `--only` (e.g. `w9-5m`).
    pub key: &'static str,
    /// Group selected by `--only` (e.g. `w9` selects every W9 workload).
    pub group: &'static str,
    /// Workload name the workers know (e.g. `w9`).
    pub worker: &'static str,
    /// Size given to the worker: round trips, rows, seconds, bytes or connections.
    pub size: u64,
    /// The same with `--quick`.
    pub quick_size: u64,
    pub title: &'static str,
    pub metric: Metric,
    pub baseline: Baseline,
    /// Client and leader pinned to CPU 0.
    pub pinned: bool,
    pub seed: Seed,
    /// Extra columns: peak RSS, client CPU per operation.
    pub rss: bool,
    pub cpu: bool,
    pub clients: &'static [&'static str],
    pub targets: &'static [Target],
}

/// The raw-socket floor.
pub const FLOOR: &str = "raw";
/// go-dqlite's `database/sql` driver.
pub const GO: &str = "go-dqlite";

/// Every client, in the order of the report.
pub const CLIENTS: [&str; 9] = [
    FLOOR,
    "rust-blocking",
    "rust-async",
    GO,
    "python-sync",
    "python-aio",
    "peer-python",
    "peer-python-aio",
    "asyncio-floor",
];

const CORE: &[&str] = &[
    FLOOR,
    "rust-blocking",
    "rust-async",
    GO,
    "python-sync",
    "python-aio",
    "peer-python",
];
const W1: &[&str] = &[
    FLOOR,
    "rust-blocking",
    "rust-async",
    GO,
    "python-sync",
    "python-aio",
    "peer-python",
    "peer-python-aio",
    "asyncio-floor",
];
const CONCURRENT: &[&str] = &[
    FLOOR,
    "rust-async",
    GO,
    "python-aio",
    "peer-python",
    "peer-python-aio",
];
const POOLED: &[&str] = &[FLOOR, "rust-async", GO, "python-aio", "peer-python-aio"];
const SQLALCHEMY: &[&str] = &[
    "python-sync",
    "python-aio",
    "peer-python",
    "peer-python-aio",
];
const CONNECT: &[&str] = &[
    FLOOR,
    "rust-blocking",
    "rust-async",
    GO,
    "python-sync",
    "python-aio",
    "peer-python",
    "peer-python-aio",
];
const CHECKOUT: &[&str] = &[
    "rust-async",
    GO,
    "python-sync",
    "python-aio",
    "peer-python",
    "peer-python-aio",
];
/// The largest W9 size without the pure-Python reference (~45 s a repetition).
const SCALE_FAST: &[&str] = &[
    FLOOR,
    "rust-blocking",
    "rust-async",
    GO,
    "python-sync",
    "python-aio",
];

const MIB: u64 = 1 << 20;

const W1PIN_TARGETS: &[Target] = &[
    target("python-sync", Bound::RatioAtMost(1.20), "#18"),
    target("python-aio", Bound::RatioAtMost(1.35), "#18"),
    target("python-aio", Bound::TailAtMost(2.0), "#18"),
    target("rust-async", Bound::RatioAtMost(1.10), "#5"),
    target("rust-blocking", Bound::RatioAtMost(1.10), "#5"),
];
const W3_TARGETS: &[Target] = &[
    target("python-sync", Bound::RatioAtLeast(3.5), "#5"),
    target("python-aio", Bound::RatioAtLeast(3.5), "#5"),
    target("rust-async", Bound::RatioAtLeast(6.0), "#5"),
    target("rust-blocking", Bound::RatioAtLeast(6.0), "#5"),
];
const W4_TARGETS: &[Target] = &[
    target("python-sync", Bound::RatioAtLeast(0.70), "#5"),
    target("python-aio", Bound::RatioAtLeast(0.70), "#5"),
    target("rust-async", Bound::RatioAtLeast(0.90), "#5"),
    target("rust-blocking", Bound::RatioAtLeast(0.90), "#5"),
];
const W5_TARGETS: &[Target] = &[
    target("python-aio", Bound::RatioAtLeast(0.50), "#5"),
    target("python-aio", Bound::VsGoAtLeast(1.0), "#18"),
    target("python-aio", Bound::CpuAtMost(6.0), "#18"),
    target("rust-async", Bound::RatioAtLeast(0.85), "#5"),
];
const W5POOL_TARGETS: &[Target] = &[
    target("python-aio", Bound::VsGoAtLeast(1.0), "#18"),
    target("python-aio", Bound::CpuAtMost(6.0), "#18"),
];

/// A workload with the defaults most share; the table below overrides fields.
const fn spec(key: &'static str, group: &'static str, title: &'static str) -> Spec {
    Spec {
        key,
        group,
        worker: key,
        size: 0,
        quick_size: 0,
        title,
        metric: Metric::Latency,
        baseline: Baseline::Floor,
        pinned: false,
        seed: Seed::Leader,
        rss: false,
        cpu: false,
        clients: CORE,
        targets: &[],
    }
}

/// Every workload, in the order of a repetition and of the report.
pub const SPECS: &[Spec] = &[
    Spec {
        size: 3_000,
        quick_size: 500,
        clients: W1,
        ..spec("w1", "w1", "SELECT 1 median latency")
    },
    Spec {
        worker: "w1",
        size: 3_000,
        quick_size: 500,
        pinned: true,
        clients: W1,
        targets: W1PIN_TARGETS,
        ..spec(
            "w1pin",
            "w1",
            "SELECT 1 median latency, client and leader on CPU 0",
        )
    },
    Spec {
        size: 500,
        quick_size: 100,
        metric: Metric::Rate("rows/s"),
        ..spec("w2", "w2", "autocommit single-row INSERTs")
    },
    Spec {
        size: 50_000,
        quick_size: 10_000,
        metric: Metric::Rate("rows/s"),
        targets: W3_TARGETS,
        ..spec("w3", "w3", "SIZE INSERTs in one transaction")
    },
    Spec {
        size: 200_000,
        quick_size: 200_000,
        metric: Metric::Rate("rows/s"),
        rss: true,
        targets: W4_TARGETS,
        ..spec("w4", "w4", "200,000 rows x 5 columns fetched whole")
    },
    Spec {
        size: 200_000,
        quick_size: 200_000,
        metric: Metric::Rate("rows/s"),
        rss: true,
        ..spec(
            "w4stream",
            "w4",
            "the same, streamed (fetchmany / row by row)",
        )
    },
    Spec {
        size: 5,
        quick_size: 2,
        metric: Metric::Rate("queries/s"),
        cpu: true,
        clients: CONCURRENT,
        targets: W5_TARGETS,
        ..spec(
            "w5",
            "w5",
            "8 concurrent readers, one connection each, point queries for SIZE s",
        )
    },
    Spec {
        size: 5,
        quick_size: 2,
        metric: Metric::Rate("queries/s"),
        cpu: true,
        clients: POOLED,
        targets: W5POOL_TARGETS,
        ..spec(
            "w5pool",
            "w5",
            "64 concurrent tasks over a pool of 8 connections, point queries for SIZE s",
        )
    },
    Spec {
        size: 50_000,
        quick_size: 5_000,
        metric: Metric::Rate("rows/s"),
        baseline: Baseline::Reference,
        clients: SQLALCHEMY,
        ..spec(
            "w6core",
            "w6",
            "SQLAlchemy Core insert() of SIZE rows, executemany in one transaction",
        )
    },
    Spec {
        size: 10_000,
        quick_size: 10_000,
        metric: Metric::Rate("objects/s"),
        baseline: Baseline::Reference,
        rss: true,
        clients: SQLALCHEMY,
        ..spec("w6orm", "w6", "SQLAlchemy ORM load of SIZE objects")
    },
    Spec {
        size: 100,
        quick_size: 20,
        seed: Seed::Follower,
        clients: CONNECT,
        ..spec(
            "w7connect",
            "w7",
            "connect() to the first result, cold, given a follower's address",
        )
    },
    Spec {
        size: 2_000,
        quick_size: 500,
        baseline: Baseline::Go,
        clients: CHECKOUT,
        ..spec(
            "w7checkout",
            "w7",
            "pool checkout and return of an idle connection",
        )
    },
    Spec {
        worker: "w8in",
        size: MIB,
        quick_size: MIB,
        metric: Metric::Rate("MB/s"),
        ..spec("w8in-1m", "w8", "1 MiB blobs written, one INSERT each")
    },
    Spec {
        worker: "w8in",
        size: 16 * MIB,
        quick_size: 16 * MIB,
        metric: Metric::Rate("MB/s"),
        rss: true,
        ..spec("w8in-16m", "w8", "16 MiB blobs written, one INSERT each")
    },
    Spec {
        worker: "w8out",
        size: MIB,
        quick_size: MIB,
        metric: Metric::Rate("MB/s"),
        ..spec("w8out-1m", "w8", "1 MiB blobs read, one SELECT each")
    },
    Spec {
        worker: "w8out",
        size: 16 * MIB,
        quick_size: 16 * MIB,
        metric: Metric::Rate("MB/s"),
        rss: true,
        ..spec("w8out-16m", "w8", "16 MiB blobs read, one SELECT each")
    },
    scale("w9-10k", 10_000, 10_000, CORE),
    scale("w9-100k", 100_000, 50_000, CORE),
    scale("w9-1m", 1_000_000, 200_000, CORE),
    scale("w9-5m", 5_000_000, 500_000, SCALE_FAST),
    Spec {
        size: 1_000,
        quick_size: 1_000,
        metric: Metric::MemoryPerConn,
        baseline: Baseline::Go,
        clients: CONNECT,
        ..spec(
            "w9idle",
            "w9",
            "SIZE idle connections: client resident memory per connection",
        )
    },
];

const fn scale(
    key: &'static str,
    size: u64,
    quick_size: u64,
    clients: &'static [&'static str],
) -> Spec {
    Spec {
        worker: "w9",
        size,
        quick_size,
        metric: Metric::Rate("rows/s"),
        rss: true,
        clients,
        ..spec(
            key,
            "w9",
            "SIZE generated rows x 5 columns (W4's shape), streamed",
        )
    }
}

impl Spec {
    /// The size for this run.
    pub fn size(&self, quick: bool) -> u64 {
        if quick { self.quick_size } else { self.size }
    }

    /// The title with SIZE replaced by this run's size.
    pub fn title_for(&self, quick: bool) -> String {
        self.title.replace("SIZE", &short(self.size(quick)))
    }

    /// Whether `--only` with these names selects this workload.
    pub fn selected(&self, only: &[String]) -> bool {
        only.is_empty() || only.iter().any(|o| o == self.key || o == self.group)
    }
}

/// A count as people write it: 10k, 5M.
pub fn short(n: u64) -> String {
    match n {
        n if n >= 1_000_000 && n % 1_000_000 == 0 => format!("{}M", n / 1_000_000),
        n if n >= 10_000 && n % 1_000 == 0 => format!("{}k", n / 1_000),
        n => n.to_string(),
    }
}
