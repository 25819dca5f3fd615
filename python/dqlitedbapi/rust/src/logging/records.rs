//! Records on their way to Python: queued by whichever thread the event happened on
//! (without Python), handed to `logging` by a thread that holds the GIL and nothing else,
//! at the end of a driver call.
//!
//! The queue is a channel: sending takes no lock, so a thread that emits while another
//! forks cannot leave the child stuck. Receiving happens only with the GIL held and
//! without calling Python, so no thread is inside it when `os.fork()` (which holds the
//! GIL) runs. Records are taken out first and handed to Python after, so a handler that
//! calls back into the driver finds nothing held.

use std::cell::Cell;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Mutex, OnceLock};
use std::time::SystemTime;

use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::PyDict;
use tracing::Level;

use super::levels::{self, Logger};

/// A field of an event or span, as Python will see it.
#[derive(Debug, Clone)]
pub enum Value {
    Int(i64),
    UInt(u64),
    Float(f64),
    Bool(bool),
    Text(String),
}

impl std::fmt::Display for Value {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Value::Int(v) => write!(f, "{v}"),
            Value::UInt(v) => write!(f, "{v}"),
            Value::Float(v) => write!(f, "{v}"),
            Value::Bool(v) => write!(f, "{v}"),
            Value::Text(v) => f.write_str(v),
        }
    }
}

/// One record for Python's `logging`.
#[derive(Debug)]
pub struct Record {
    pub logger: Logger,
    pub level: Level,
    /// The message, followed by the fields as `name=value`.
    pub message: String,
    /// The fields, also given to Python as the record's `dqlite` attribute.
    pub fields: Vec<(&'static str, Value)>,
    /// When it happened (the record is handed over later).
    pub time: SystemTime,
    /// Where in the Rust source.
    pub file: Option<&'static str>,
    pub line: Option<u32>,
}

/// At most this many records wait; more are counted and dropped.
const CAPACITY: usize = 10_000;

struct Queue {
    tx: Sender<Record>,
    rx: Mutex<Receiver<Record>>,
}

static QUEUE: OnceLock<Queue> = OnceLock::new();
static QUEUED: AtomicUsize = AtomicUsize::new(0);
static DROPPED: AtomicUsize = AtomicUsize::new(0);
/// Set when a record is queued, cleared when the queue is emptied: the only thing a call
/// reads on its way out when nothing was logged.
static PENDING: AtomicBool = AtomicBool::new(false);

fn queue() -> &'static Queue {
    QUEUE.get_or_init(|| {
        let (tx, rx) = channel();
        Queue {
            tx,
            rx: Mutex::new(rx),
        }
    })
}

/// Queues a record, from any thread; never touches Python.
pub fn push(record: Record) {
    if QUEUED.fetch_add(1, Ordering::Relaxed) >= CAPACITY {
        QUEUED.fetch_sub(1, Ordering::Relaxed);
        DROPPED.fetch_add(1, Ordering::Relaxed);
    } else if queue().tx.send(record).is_err() {
        QUEUED.fetch_sub(1, Ordering::Relaxed);
    }
    PENDING.store(true, Ordering::Release);
}

/// At the start of a driver call (GIL held): reads the logging configuration again if it
/// changed, so that the call's records go where it now says.
#[inline]
pub fn before_call(py: Python<'_>) {
    if levels::stale(py) {
        refresh(py);
    }
}

/// At the end of a driver call (GIL held, no lock of the driver's held): hands the queued
/// records to Python's `logging`. One atomic load when there are none.
#[inline]
pub fn after_call(py: Python<'_>) {
    if PENDING.load(Ordering::Acquire) {
        emit_pending(py);
    }
}

/// Reads the levels again; a failure is reported as unraisable (logging must not break
/// a database call).
pub fn refresh(py: Python<'_>) {
    if let Err(e) = levels::refresh(py) {
        e.write_unraisable(py, None);
    }
}

thread_local! {
    /// True while this thread hands records to Python: a handler that calls the driver
    /// does not hand over the records of that call from inside itself (they wait for the
    /// next call), so handlers never recurse.
    static EMITTING: Cell<bool> = const { Cell::new(false) };
}

/// Clears [`EMITTING`] when dropped.
struct Emitting;

impl Drop for Emitting {
    fn drop(&mut self) {
        EMITTING.with(|e| e.set(false));
    }
}

/// Hands every queued record to Python.
pub fn emit_pending(py: Python<'_>) {
    if EMITTING.with(|e| e.replace(true)) {
        return;
    }
    let _emitting = Emitting;
    PENDING.store(false, Ordering::Release);
    let records: Vec<Record> = match queue().rx.try_lock() {
        Ok(rx) => rx.try_iter().collect(),
        // Another thread is taking them (it holds the GIL: not possible) or a thread
        // panicked there: leave them.
        Err(_) => {
            PENDING.store(true, Ordering::Release);
            return;
        }
    };
    QUEUED.fetch_sub(records.len(), Ordering::Relaxed);
    for record in &records {
        if let Err(e) = emit(py, record) {
            e.write_unraisable(py, None);
        }
    }
    let dropped = DROPPED.swap(0, Ordering::Relaxed);
    if dropped > 0 {
        let record = Record {
            logger: Logger::Root,
            level: Level::WARN,
            message: format!(
                "{dropped} log records were dropped: more than {CAPACITY} waited to be handed \
                 to logging"
            ),
            fields: Vec::new(),
            time: SystemTime::now(),
            file: None,
            line: None,
        };
        if let Err(e) = emit(py, &record) {
            e.write_unraisable(py, None);
        }
    }
}

/// One record through `logger.makeRecord` and `logger.handle`, dated when it happened.
fn emit(py: Python<'_>, record: &Record) -> PyResult<()> {
    let logger = levels::python_logger(py, record.logger)?;
    let level = levels::python_level(record.level);
    if !logger
        .call_method1(intern!(py, "isEnabledFor"), (level,))?
        .is_truthy()?
    {
        return Ok(());
    }
    let fields = PyDict::new(py);
    for (name, value) in &record.fields {
        match value {
            Value::Int(v) => fields.set_item(name, v)?,
            Value::UInt(v) => fields.set_item(name, v)?,
            Value::Float(v) => fields.set_item(name, v)?,
            Value::Bool(v) => fields.set_item(name, v)?,
            Value::Text(v) => fields.set_item(name, v)?,
        }
    }
    let extra = PyDict::new(py);
    extra.set_item("dqlite", fields)?;
    let made = logger.call_method1(
        intern!(py, "makeRecord"),
        (
            record.logger.name(),
            level,
            record.file.unwrap_or("(dqlite-client)"),
            record.line.unwrap_or(0),
            record.message.as_str(),
            (),
            py.None(),
            py.None(),
            extra,
        ),
    )?;
    // Dated when it happened, not when it was handed over.
    let created = record
        .time
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64());
    let start: f64 = py
        .import(intern!(py, "logging"))?
        .getattr(intern!(py, "_startTime"))?
        .extract()
        .unwrap_or(created);
    made.setattr(intern!(py, "created"), created)?;
    made.setattr(intern!(py, "msecs"), (created.fract() * 1000.0).floor())?;
    made.setattr(intern!(py, "relativeCreated"), (created - start) * 1000.0)?;
    logger.call_method1(intern!(py, "handle"), (made,))?;
    Ok(())
}
