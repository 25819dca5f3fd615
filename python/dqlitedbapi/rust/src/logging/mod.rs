//! The client's `tracing` events and spans, handed to Python's `logging` under the
//! `dqlitedbapi` logger and its children (see [`levels::Logger`]).
//!
//! Python must never be entered from where an event happens: a blocking call logs on its
//! own thread with the GIL released and the connection's lock held, an asyncio connection
//! on the loop's thread in the middle of a poll, discovery on the background runtime's
//! thread. Taking the GIL there can deadlock (a thread holding the GIL may wait for that
//! lock; see pyo3-log#65). So:
//!
//! * which levels each Python logger takes is cached in atomics ([`levels`]), read by the
//!   [`layer`] on any thread; tracing caches the answer per call site, so an event nobody
//!   listens to costs what it cost with no subscriber at all;
//! * wanted events become [`records::Record`]s, queued without a lock;
//! * the driver hands them to `logging` at the end of each call ([`after_call`]), on the
//!   caller's thread, holding the GIL and no lock of its own: one atomic load when nothing
//!   was logged. A call first re-reads the levels if Python's configuration changed
//!   ([`before_call`]: one `len()` of a dict).
//!
//! Records are dated when the event happened. Spans: the client's `request` (one
//! statement) and `discovery` spans give DEBUG records with their durations, and a
//! statement slower than [`set_slow_statement_threshold`] a WARNING on
//! `dqlitedbapi.slow`. Parameter values are never logged (the client never records them).

mod layer;
mod levels;
mod records;

use std::time::Duration;

use pyo3::prelude::*;
use tracing_subscriber::layer::SubscriberExt;

pub use records::{after_call, before_call};

use crate::errors::DbError;

/// Makes the layer this extension's tracing subscriber (each extension module has its own
/// copy of tracing's globals) and reads the levels.
pub fn install(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let subscriber = tracing_subscriber::registry().with(layer::PythonLayer);
    // Fails only when one is set already (a second initialisation): keep that one.
    let _ = tracing::subscriber::set_global_default(subscriber);
    levels::refresh(m.py())
}

/// Logs statements slower than `seconds` as WARNING records on the `dqlitedbapi.slow`
/// logger (with their SQL text and duration, never their parameters); None turns it off
/// (the default). A statement's time runs from the call to its answer (for a query, its
/// first rows). Process-wide.
#[pyfunction]
#[pyo3(signature = (seconds, /))]
pub fn set_slow_statement_threshold(seconds: Option<f64>) -> PyResult<()> {
    let threshold = match seconds {
        None => None,
        Some(s) if s.is_finite() && s >= 0.0 => {
            Some(Duration::try_from_secs_f64(s).map_err(|e| DbError::programming(e.to_string()))?)
        }
        Some(s) => {
            return Err(DbError::programming(format!(
                "the slow statement threshold must be None or a non-negative number of \
                 seconds, got {s}"
            ))
            .into());
        }
    };
    levels::set_slow_threshold(threshold);
    Ok(())
}

/// The slow-statement threshold in seconds, or None when off.
#[pyfunction]
pub fn get_slow_statement_threshold() -> Option<f64> {
    levels::slow_threshold().map(|d| d.as_secs_f64())
}

/// Reads Python's logging configuration again and hands over every waiting record (the
/// driver does both by itself; for `atexit` and for code that set a level by assigning
/// `Logger.level`, which `logging` does not notice either).
#[pyfunction]
pub fn _logging_refresh(py: Python<'_>) {
    records::refresh(py);
    records::emit_pending(py);
}
