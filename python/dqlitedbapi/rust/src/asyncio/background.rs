//! The background runtime of asyncio connections: a current-thread tokio runtime on a
//! thread of its own, one per process, for what the client does through tokio (timers:
//! request deadlines and busy retries; leader discovery's sockets).
//!
//! Its thread never touches Python: wake-ups it causes reach the event loop through a
//! socket pair (see the `executor` and the reactor), so the interpreter's shutdown cannot
//! race with it.

use std::cell::Cell;
use std::io;
use std::sync::Mutex;
use std::time::Duration;

use tokio::runtime::Handle;

use super::lock;
use crate::errors::DbError;

thread_local! {
    /// True on the background runtime's thread.
    static ON_BACKGROUND: Cell<bool> = const { Cell::new(false) };
}

/// The background runtime of this process (a new one after `fork`: the parent's thread
/// was not forked).
static BACKGROUND: Mutex<Option<(u32, Handle)>> = Mutex::new(None);

/// A timer that always fires within this delay keeps the runtime's next wake-up close,
/// so registering a request deadline (seconds away) never has to wake its thread.
const SENTINEL: Duration = Duration::from_millis(250);

/// True on the background runtime's thread, which must never touch Python.
pub fn on_background_thread() -> bool {
    ON_BACKGROUND.with(Cell::get)
}

/// The handle of this process's background runtime, started on first use.
pub fn handle() -> Result<Handle, DbError> {
    let mut slot = lock(&BACKGROUND);
    let pid = std::process::id();
    if let Some((owner, handle)) = slot.as_ref()
        && *owner == pid
    {
        return Ok(handle.clone());
    }
    let failed = |e: io::Error| DbError::operational(format!("cannot start the I/O thread: {e}"));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(failed)?;
    let handle = rt.handle().clone();
    std::thread::Builder::new()
        .name("dqlitedbapi-io".into())
        .spawn(move || {
            ON_BACKGROUND.with(|b| b.set(true));
            rt.block_on(async {
                loop {
                    tokio::time::sleep(SENTINEL).await;
                }
            });
        })
        .map_err(failed)?;
    *slot = Some((pid, handle.clone()));
    Ok(handle)
}
