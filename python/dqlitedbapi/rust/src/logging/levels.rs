//! Which Python loggers listen, at which levels, as atomics the tracing layer reads on any
//! thread without Python; refreshed from Python's `logging` when its configuration changes.
//!
//! Python's `logging` empties every registered logger's `_cache` (its memo of
//! `isEnabledFor`) whenever an effective level can change: `setLevel`, `logging.disable`,
//! and the configuration functions, which call them. The refresh puts a marker in the cache
//! of a logger of its own, `dqlitedbapi._levels`, which nothing logs to or asks (so nothing
//! else fills its cache); a call that finds that cache empty refreshes again, at the cost of
//! one `len()` of a dict. Without that attribute (another Python), levels are read at
//! import and when `_logging_refresh` is called.

use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use std::time::Duration;

use pyo3::intern;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyDict;
use tracing::Level;

/// The loggers records go to: `dqlitedbapi` and its children.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Logger {
    /// `dqlitedbapi`: what no child takes.
    Root,
    /// `dqlitedbapi.discovery`: leader discovery, leaders found and forgotten, membership.
    Discovery,
    /// `dqlitedbapi.connection`: connections closed or discarded, and why.
    Connection,
    /// `dqlitedbapi.sql`: statement text and durations (DEBUG).
    Sql,
    /// `dqlitedbapi.slow`: statements slower than the threshold (WARNING).
    Slow,
}

impl Logger {
    pub const ALL: [Logger; 5] = [
        Logger::Root,
        Logger::Discovery,
        Logger::Connection,
        Logger::Sql,
        Logger::Slow,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Logger::Root => "dqlitedbapi",
            Logger::Discovery => "dqlitedbapi.discovery",
            Logger::Connection => "dqlitedbapi.connection",
            Logger::Sql => "dqlitedbapi.sql",
            Logger::Slow => "dqlitedbapi.slow",
        }
    }

    fn index(self) -> usize {
        self as usize
    }

    /// The logger of events from the module `target` (a tracing target).
    pub fn of_target(target: &str) -> Logger {
        const ROUTES: [(&str, Logger); 6] = [
            ("dqlite_client::conn::statements", Logger::Sql),
            ("dqlite_client::cluster", Logger::Discovery),
            ("dqlite_client::discovery", Logger::Discovery),
            ("dqlite_client::conn", Logger::Connection),
            ("dqlite_client::pool", Logger::Connection),
            ("dqlitedbapi::connection", Logger::Connection),
        ];
        ROUTES
            .iter()
            .find(|(prefix, _)| target.starts_with(prefix))
            .map_or(Logger::Root, |&(_, logger)| logger)
    }
}

/// Python's level for a tracing level.
pub fn python_level(level: Level) -> u8 {
    match level {
        Level::ERROR => 40,
        Level::WARN => 30,
        Level::INFO => 20,
        Level::DEBUG => 10,
        Level::TRACE => 5,
    }
}

/// Tracing levels from the least to the most verbose; a logger's entry in [`ENABLED`] is
/// how many of them it takes (0: none).
const VERBOSITY: [Level; 5] = [
    Level::ERROR,
    Level::WARN,
    Level::INFO,
    Level::DEBUG,
    Level::TRACE,
];

static ENABLED: [AtomicU8; 5] = [const { AtomicU8::new(0) }; 5];

/// The slow-statement threshold in nanoseconds; [`SLOW_OFF`] when off.
static SLOW_NANOS: AtomicU64 = AtomicU64::new(SLOW_OFF);
const SLOW_OFF: u64 = u64::MAX;

fn verbosity(level: Level) -> u8 {
    match level {
        Level::ERROR => 1,
        Level::WARN => 2,
        Level::INFO => 3,
        Level::DEBUG => 4,
        Level::TRACE => 5,
    }
}

/// True when `logger` takes records of `level`.
pub fn enabled(logger: Logger, level: Level) -> bool {
    ENABLED
        .get(logger.index())
        .is_some_and(|e| e.load(Ordering::Relaxed) >= verbosity(level))
}

/// The most verbose level any logger takes, for tracing's global filter.
pub fn most_verbose() -> Option<Level> {
    let most = ENABLED
        .iter()
        .map(|e| e.load(Ordering::Relaxed))
        .max()
        .unwrap_or(0);
    let slow = slow_threshold().is_some() && enabled(Logger::Slow, Level::WARN);
    // The request spans that measure statements are DEBUG.
    let most = if slow {
        most.max(verbosity(Level::DEBUG))
    } else {
        most
    };
    VERBOSITY.get(usize::from(most).checked_sub(1)?).copied()
}

/// The slow-statement threshold, if set.
pub fn slow_threshold() -> Option<Duration> {
    match SLOW_NANOS.load(Ordering::Relaxed) {
        SLOW_OFF => None,
        nanos => Some(Duration::from_nanos(nanos)),
    }
}

/// Sets the slow-statement threshold (None: off).
pub fn set_slow_threshold(threshold: Option<Duration>) {
    let nanos = threshold.map_or(SLOW_OFF, |d| {
        u64::try_from(d.as_nanos()).map_or(SLOW_OFF - 1, |n| n.min(SLOW_OFF - 1))
    });
    SLOW_NANOS.store(nanos, Ordering::Relaxed);
    tracing::callsite::rebuild_interest_cache();
}

/// The Python logger objects, looked up once.
static LOGGERS: PyOnceLock<Vec<Py<PyAny>>> = PyOnceLock::new();

/// The `_cache` dict of the `dqlitedbapi._levels` logger, if this Python has it.
static SENTINEL: PyOnceLock<Option<Py<PyDict>>> = PyOnceLock::new();

/// The Python logger object of `logger`.
pub fn python_logger<'py>(py: Python<'py>, logger: Logger) -> PyResult<Bound<'py, PyAny>> {
    let loggers = LOGGERS.get_or_try_init(py, || {
        let get_logger = py.import("logging")?.getattr("getLogger")?;
        Logger::ALL
            .iter()
            .map(|l| get_logger.call1((l.name(),)).map(Bound::unbind))
            .collect::<PyResult<Vec<_>>>()
    })?;
    loggers
        .get(logger.index())
        .map(|l| l.bind(py).clone())
        .ok_or_else(|| pyo3::exceptions::PyIndexError::new_err("no such logger"))
}

/// The logger whose `_cache` holds the marker: only `logging` itself and the refresh touch
/// that dict.
const SENTINEL_LOGGER: &str = "dqlitedbapi._levels";

/// True when Python's logging configuration changed since the last refresh: the marker's
/// dict was emptied. One `len()`: callers ask on every call.
#[inline]
pub fn stale(py: Python<'_>) -> bool {
    match SENTINEL.get(py) {
        Some(Some(cache)) => cache.bind(py).len() == 0,
        _ => false,
    }
}

/// Reads which levels each logger takes now; when that changed, tracing re-asks every
/// event and span whether it is wanted.
pub fn refresh(py: Python<'_>) -> PyResult<()> {
    let mut changed = false;
    for logger in Logger::ALL {
        let object = python_logger(py, logger)?;
        let mut taken = 0u8;
        for level in VERBOSITY {
            let on = object
                .call_method1(intern!(py, "isEnabledFor"), (python_level(level),))?
                .is_truthy()?;
            if !on {
                break;
            }
            taken += 1;
        }
        if let Some(slot) = ENABLED.get(logger.index()) {
            changed |= slot.swap(taken, Ordering::Relaxed) != taken;
        }
    }
    let sentinel = SENTINEL.get_or_try_init(py, || -> PyResult<_> {
        let logger = py
            .import("logging")?
            .getattr("getLogger")?
            .call1((SENTINEL_LOGGER,))?;
        Ok(logger
            .getattr("_cache")
            .ok()
            .and_then(|c| c.cast_into::<PyDict>().ok())
            .map(Bound::unbind))
    })?;
    if let Some(cache) = sentinel {
        cache.bind(py).set_item("levels read", true)?;
    }
    if changed {
        tracing::callsite::rebuild_interest_cache();
    }
    Ok(())
}
