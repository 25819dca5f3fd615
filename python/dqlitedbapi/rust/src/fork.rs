//! `os.fork()`: what a child process may do with the objects it inherited.
//!
//! A child gets copies of the parent's connections, but not the threads behind them: the
//! tokio runtime of a blocking connection may wait for its blocking-pool thread when torn
//! down (forever, in a child, holding the GIL), and an asyncio connection's descriptors are
//! registered in an epoll set the child shares with the parent (unregistering them there
//! unregisters them for the parent). So in a child these objects refuse use, and when
//! dropped they close their own socket descriptors (which only affects the child) and leak
//! everything else.

use std::sync::atomic::{AtomicU32, Ordering};

use pyo3::prelude::*;

/// Bumped in a child process after `os.fork()` (a hook registered at import), so that the
/// per-call check needs no system call.
static FORK_GENERATION: AtomicU32 = AtomicU32::new(0);

/// Called by `os.register_at_fork(after_in_child=...)`.
#[pyfunction]
pub fn _after_fork_in_child() {
    FORK_GENERATION.fetch_add(1, Ordering::Relaxed);
    crate::exiting::after_fork_in_child();
}

/// Registers [`_after_fork_in_child`] with `os.register_at_fork`.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let hook = pyo3::wrap_pyfunction!(_after_fork_in_child, m)?;
    let kwargs = pyo3::types::PyDict::new(m.py());
    kwargs.set_item("after_in_child", hook)?;
    m.py()
        .import("os")?
        .getattr("register_at_fork")?
        .call((), Some(&kwargs))?;
    Ok(())
}

/// The process (counted in forks) an object was created in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Process(u32);

impl Process {
    /// This process.
    pub fn current() -> Process {
        Process(FORK_GENERATION.load(Ordering::Relaxed))
    }

    /// True when this is still the process the object was created in (not a child forked
    /// since).
    pub fn is_current(self) -> bool {
        self == Process::current()
    }
}
