//! Interpreter exit: a thread that let the GIL go never takes it back once Python exits.
//!
//! Up to Python 3.13, a thread other than the one finalizing the interpreter that asks for
//! the GIL during finalization (a daemon thread whose statement ends then, say) is ended
//! with `pthread_exit`, which unwinds through the Rust frames of the driver's call: the
//! process crashes (a segmentation fault in the unwinder). Python 3.14 parks such a thread
//! instead; so does the driver, on every version: an `atexit` hook, run before
//! finalization starts, sets [`EXITING`], and from then on such a thread parks forever
//! where it would have taken the GIL back. The process exits around it.
//!
//! A thread that read [`EXITING`] unset may still be on its way to the GIL; the hook
//! lets it through (it waits for [`REATTACHING`] to fall to zero, GIL released) before
//! finalization can start, so no such thread reaches the GIL once it has.

use std::cell::Cell;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread::ThreadId;
use std::time::{Duration, Instant};

use pyo3::prelude::*;

/// Set by the `atexit` hook: the interpreter is about to be finalized.
static EXITING: AtomicBool = AtomicBool::new(false);
/// Threads between checking [`EXITING`] and holding the GIL again.
static REATTACHING: AtomicUsize = AtomicUsize::new(0);
/// The thread that runs the `atexit` hooks, and then finalizes the interpreter.
static FINALIZING_THREAD: OnceLock<ThreadId> = OnceLock::new();
thread_local! {
    /// Whether this thread runs without the GIL, inside [`detach`].
    static DETACHED: Cell<bool> = const { Cell::new(false) };
}
/// How long the hook waits for threads on their way to the GIL.
const LET_THROUGH: Duration = Duration::from_secs(1);

/// A thread on its way to the GIL; dropped once it holds it.
pub struct Reattaching(());

impl Drop for Reattaching {
    fn drop(&mut self) {
        REATTACHING.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Called before taking the GIL (back): when the interpreter is exiting, parks this thread
/// forever, if it does not hold the GIL (`detached`) and is not the thread finalizing it.
fn reattaching(detached: bool) -> Reattaching {
    REATTACHING.fetch_add(1, Ordering::SeqCst);
    let token = Reattaching(());
    if detached
        && EXITING.load(Ordering::SeqCst)
        && FINALIZING_THREAD.get() != Some(&std::thread::current().id())
    {
        drop(token);
        loop {
            std::thread::park();
        }
    }
    token
}

/// `py.detach(f)`, but the thread parks forever instead of taking the GIL back once the
/// interpreter exits.
pub fn detach<T, F>(py: Python<'_>, f: F) -> T
where
    T: Send,
    F: Send + FnOnce() -> T,
{
    let (out, token) = py.detach(move || {
        let outer = DETACHED.replace(true);
        let out = f();
        DETACHED.set(outer);
        (out, reattaching(true))
    });
    drop(token);
    out
}

/// `Python::attach(f)`: called inside [`detach`], the thread parks forever instead of
/// taking the GIL back once the interpreter exits.
pub fn attach<T, F>(f: F) -> T
where
    F: for<'py> FnOnce(Python<'py>) -> T,
{
    attach_as(DETACHED.get(), f)
}

/// [`attach`] from a thread that Python does not know: it parks forever instead of taking
/// the GIL once the interpreter exits.
pub fn attach_new_thread<T, F>(f: F) -> T
where
    F: for<'py> FnOnce(Python<'py>) -> T,
{
    attach_as(true, f)
}

fn attach_as<T, F>(detached: bool, f: F) -> T
where
    F: for<'py> FnOnce(Python<'py>) -> T,
{
    let token = reattaching(detached);
    Python::attach(move |py| {
        drop(token);
        let outer = DETACHED.replace(false);
        let out = f(py);
        DETACHED.set(outer);
        out
    })
}

/// In a child process after `os.fork()`: the parent's threads on their way to the GIL do
/// not exist here (the hook would wait for them at exit).
pub fn after_fork_in_child() {
    REATTACHING.store(0, Ordering::SeqCst);
}

/// The `atexit` hook: from now on, threads that let the GIL go do not take it back.
#[pyfunction]
pub fn _before_exit(py: Python<'_>) {
    let _ = FINALIZING_THREAD.set(std::thread::current().id());
    EXITING.store(true, Ordering::SeqCst);
    if REATTACHING.load(Ordering::SeqCst) == 0 {
        return;
    }
    // Threads that saw EXITING unset get the GIL while this one waits without it.
    let deadline = Instant::now() + LET_THROUGH;
    py.detach(|| {
        while REATTACHING.load(Ordering::SeqCst) > 0 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(1));
        }
    });
}

/// Registers [`_before_exit`] with `atexit`.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let hook = pyo3::wrap_pyfunction!(_before_exit, m)?;
    m.py()
        .import("atexit")?
        .getattr("register")?
        .call1((hook,))?;
    Ok(())
}
