//! Ctrl-C while a command runs.
//!
//! At the prompt the line editor reads Ctrl-C as a key (the terminal is in raw mode) and
//! clears the line. While a command runs, SIGINT only raises a flag here; the code that
//! waits for the server ([`crate::worker`]) polls it and abandons the statement. A second
//! Ctrl-C before the first was noticed (a command that cannot be interrupted, such as an
//! admin request waiting for its timeout) quits the shell with status 130.

use std::sync::atomic::{AtomicUsize, Ordering};

static PENDING: AtomicUsize = AtomicUsize::new(0);

/// The exit status of a shell stopped by Ctrl-C (128 + SIGINT), as shells report it.
pub const EXIT_STATUS: u8 = 130;

/// Installs the SIGINT handler. Fails if another handler was installed first.
pub fn install() -> Result<(), ctrlc::Error> {
    ctrlc::set_handler(|| {
        if PENDING.fetch_add(1, Ordering::SeqCst) >= 1 {
            eprintln!("\nInterrupted again: quitting");
            std::process::exit(i32::from(EXIT_STATUS));
        }
    })
}

/// True (once) when Ctrl-C was pressed since the last call or [`clear`].
pub fn take() -> bool {
    PENDING.swap(0, Ordering::SeqCst) > 0
}

/// Forgets a Ctrl-C pressed before the next command starts.
pub fn clear() {
    PENDING.store(0, Ordering::SeqCst);
}
