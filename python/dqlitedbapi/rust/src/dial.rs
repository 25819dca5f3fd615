//! `dial_func`: connections to the nodes opened by a Python callable instead of by the
//! client (the reference driver's hook, go-dqlite's `WithDialFunc`).
//!
//! The Python side (`dqlitedbapi._dial`) gives a callable `(address, fd)` that dials
//! `address` with the user's `dial_func` and puts the connected socket in place of the
//! file descriptor `fd` (`os.dup2`). `fd` is a placeholder socket created here and owned
//! by the blocking task that calls Python until the call returns, so the number can never
//! name another file meanwhile, even when the dial timed out and nobody waits for it any
//! more. What the placeholder then holds is the dialed socket, which the client takes
//! (TCP or Unix; see `dqlite_client::Dialer`). No file descriptor number crosses from
//! Python into Rust as ownership, so none of this needs `unsafe`.

use std::io;
use std::os::fd::{AsRawFd, OwnedFd};

use dqlite_client::{DialFuture, Dialer};
use pyo3::prelude::*;

/// A [`Dialer`] that calls the Python callable `func(address, fd)` on a blocking thread.
pub struct PyDialer {
    func: Py<PyAny>,
}

impl PyDialer {
    pub fn new(func: Py<PyAny>) -> Self {
        PyDialer { func }
    }
}

impl std::fmt::Debug for PyDialer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PyDialer")
    }
}

impl Dialer for PyDialer {
    fn dial(&self, address: &str) -> DialFuture {
        let func = Python::attach(|py| self.func.clone_ref(py));
        let address = address.to_owned();
        Box::pin(async move {
            let placeholder =
                socket2::Socket::new(socket2::Domain::UNIX, socket2::Type::STREAM, None)?;
            let dialed = tokio::task::spawn_blocking(move || {
                let fd = placeholder.as_raw_fd();
                Python::attach(|py| func.call1(py, (address, fd)).map(drop))
                    .map_err(|e| io::Error::other(format!("dial_func failed: {e}")))?;
                Ok::<OwnedFd, io::Error>(placeholder.into())
            })
            .await
            .map_err(|e| io::Error::other(format!("dial_func did not finish: {e}")))??;
            Ok(dialed)
        })
    }
}
