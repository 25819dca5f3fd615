//! `dial_func`: connections to the nodes opened by a Python callable instead of by the
//! client (the reference driver's hook, go-dqlite's `WithDialFunc`).
//!
//! The Python side (`dqlitedbapi._dial`) gives a callable `(address, fd)` that dials
//! `address` with the user's `dial_func` and puts the connected socket in place of the
//! file descriptor `fd` (`os.dup2`). `fd` is a placeholder socket created here and owned
//! by the call until it has ended, so the number can never name another file meanwhile,
//! even when the dial timed out and nobody waits for it any more. What the placeholder
//! then holds is the dialed socket, which the client takes (TCP or Unix; see
//! `dqlite_client::Dialer`). No file descriptor number crosses from Python into Rust as
//! ownership, so none of this needs `unsafe`.
//!
//! Each call runs on a Python daemon thread of its own (`dqlitedbapi._dial.start_call`),
//! which reports its end through a callback and which nothing ever waits for: discovery
//! dials every seed at once and keeps the first leader, so the calls for the other nodes
//! may still run when the connection is already closed and dropped, by a thread that holds
//! the GIL such a call needs. No Rust frame is on that thread while Python runs there: at
//! exit the interpreter ends its daemon threads with `pthread_exit`, whose unwinding must
//! not cross Rust code. The client waits for the outcome on a channel, within its dial
//! timeout.

use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::{Arc, Mutex};

use dqlite_client::{DialFuture, Dialer};
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::PyCFunction;
use tokio::sync::oneshot;

/// A [`Dialer`] that has the Python callable `func(address, fd)` called on a thread of its
/// own.
pub struct PyDialer {
    func: Arc<Py<PyAny>>,
}

impl PyDialer {
    pub fn new(func: Py<PyAny>) -> Self {
        PyDialer {
            func: Arc::new(func),
        }
    }
}

impl std::fmt::Debug for PyDialer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PyDialer")
    }
}

/// What a call gives back: the placeholder, now holding the dialed socket.
type Dialed = io::Result<OwnedFd>;

/// A call under way: its placeholder and where its outcome goes, until it has ended.
struct Call {
    placeholder: OwnedFd,
    outcome: oneshot::Sender<Dialed>,
}

impl Call {
    /// Sends the outcome; with nobody waiting for it any more, the placeholder is closed
    /// here (the call is over: nothing fills it after this).
    fn end(self, error: Option<String>) {
        let dialed = match error {
            None => Ok(self.placeholder),
            Some(e) => Err(io::Error::other(e)),
        };
        let _ = self.outcome.send(dialed);
    }
}

fn take(call: &Mutex<Option<Call>>) -> Option<Call> {
    call.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .take()
}

/// Has `func(address, fd)` called on a Python thread of its own; the call ends `call`.
fn start(py: Python<'_>, func: &Py<PyAny>, address: String, call: Call) {
    let fd = call.placeholder.as_raw_fd();
    let call = Arc::new(Mutex::new(Some(call)));
    let ended = Arc::clone(&call);
    // `done(error)`: the call returned (`error` None) or raised.
    let started = PyCFunction::new_closure(
        py,
        Some(c"dial_done"),
        None,
        move |args, _kwargs| -> PyResult<()> {
            let error: Option<String> = args.get_item(0)?.extract()?;
            if let Some(call) = take(&ended) {
                call.end(error.map(|e| format!("dial_func failed: {e}")));
            }
            Ok(())
        },
    )
    .and_then(|done| {
        py.import(intern!(py, "dqlitedbapi._dial"))?
            .call_method1(intern!(py, "start_call"), (func, address, fd, done))
    });
    if let Err(e) = started
        && let Some(call) = take(&call)
    {
        call.end(Some(format!("dial_func could not start: {e}")));
    }
}

impl Dialer for PyDialer {
    fn dial(&self, address: &str) -> DialFuture {
        let func = Arc::clone(&self.func);
        let address = address.to_owned();
        Box::pin(async move {
            let placeholder =
                socket2::Socket::new(socket2::Domain::UNIX, socket2::Type::STREAM, None)?;
            let (outcome, dialed) = oneshot::channel();
            let call = Call {
                placeholder: placeholder.into(),
                outcome,
            };
            // Python is entered on a short-lived thread of ours (only to start the call),
            // never where the client dials: for an asyncio connection that is the
            // background runtime's thread, which must not touch Python.
            std::thread::Builder::new()
                .name("dqlitedbapi-dial".into())
                .spawn(move || {
                    crate::exiting::attach_new_thread(|py| start(py, &func, address, call))
                })?;
            dialed
                .await
                .map_err(|_| io::Error::other("dial_func did not finish"))?
        })
    }
}
