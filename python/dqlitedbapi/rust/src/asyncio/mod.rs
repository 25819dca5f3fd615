//! asyncio connections: the socket lives on the asyncio event loop, and the client's
//! futures are polled on the loop's thread.
//!
//! After leader discovery, the connection's socket is taken out of tokio
//! ([`dqlite_client::Connection::replace_socket`]) and wrapped in an [`AsyncioStream`]:
//! reads and writes are non-blocking system calls made from the loop's thread, and
//! readiness comes from `loop.add_reader` / `loop.add_writer`. Each operation (execute,
//! fetch, commit...) is a task of the connection's [`executor`]: a future of the
//! connection's session (the same code as the blocking driver: one implementation of the
//! protocol), polled at once when the call is made (so the request is written before the
//! call returns) and again whenever the socket becomes readable. Its answer completes an
//! `asyncio.Future`, or, for an execute answered while its request was written, is
//! returned by the call itself (see [`spawn`]). No thread is involved in a round trip, and
//! no thread but the loop's ever touches Python.
//!
//! The client's timers run on the [`background`] runtime; their wake-ups reach the loop
//! through a socket pair registered with `add_reader`. The [`Reactor`] is the link to
//! the loop: its callbacks, the registrations, and their release (also when the loop is
//! closed under a running operation, in a forked child, and after the reactor is gone).

mod background;
mod executor;
mod spawn;
mod stream;

use std::io::{Read, Write};
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::net::UnixStream;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, Weak};
use std::thread::ThreadId;

use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::PyString;

use self::executor::{EventLoop, Executor};
pub use self::spawn::Interest;
pub use self::stream::AsyncioStream;
use self::stream::IoState;
use crate::errors::DbError;
use crate::fork::Process;

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The lock if it is free: in a forked child, a lock held at the fork by another thread
/// stays held forever.
fn try_lock<T>(m: &Mutex<T>) -> Option<MutexGuard<'_, T>> {
    match m.try_lock() {
        Ok(guard) => Some(guard),
        Err(std::sync::TryLockError::Poisoned(e)) => Some(e.into_inner()),
        Err(std::sync::TryLockError::WouldBlock) => None,
    }
}

/// What the loop calls back.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Event {
    Readable,
    Writable,
    Notified,
    Drain,
    Close,
}

/// The reading end of a reactor's wake-up socket pair, shared by the reactor and the
/// loop's callback for it: a reactor dropped while the reader is registered leaves it to
/// the callback, which unregisters and closes it (see [`LoopCallback::orphaned`]).
type WakeupReader = Arc<Mutex<Option<UnixStream>>>;

/// A callback registered with the event loop.
#[pyclass(frozen, module = "dqlitedbapi._native")]
pub struct LoopCallback {
    /// Set once the reactor exists (callbacks are made first: the reactor holds some).
    reactor: OnceLock<Weak<Reactor>>,
    /// Keeps the reactor alive until a close scheduled from another thread has run.
    keep: Option<Arc<Reactor>>,
    event: Event,
    /// The wake-up reader (the `Notified` callback's only).
    wakeup: Option<WakeupReader>,
}

impl LoopCallback {
    fn new(
        py: Python<'_>,
        event: Event,
        wakeup: Option<WakeupReader>,
    ) -> PyResult<Py<LoopCallback>> {
        Py::new(
            py,
            LoopCallback {
                reactor: OnceLock::new(),
                keep: None,
                event,
                wakeup,
            },
        )
    }

    fn reactor(&self) -> Option<Arc<Reactor>> {
        self.reactor.get().and_then(Weak::upgrade)
    }

    /// Called by the loop after the reactor was dropped (with a connection whose socket
    /// never moved to the loop, as a TLS one): the dropped reactor closed the writing end,
    /// so the reader is readable for good, and the loop would call this again at every
    /// turn. It unregisters the reader (this runs on the loop, which is the running one)
    /// and closes it.
    fn orphaned(&self, py: Python<'_>) {
        let Some(rx) = self.wakeup.as_ref().and_then(|w| lock(w).take()) else {
            return;
        };
        let removed = py
            .import(intern!(py, "asyncio"))
            .and_then(|asyncio| asyncio.call_method0(intern!(py, "get_running_loop")))
            .and_then(|event_loop| {
                event_loop.call_method1(intern!(py, "remove_reader"), (rx.as_raw_fd(),))
            });
        match removed {
            Ok(_) => drop(rx),
            Err(e) => {
                // Still registered somewhere: an open descriptor is safer than a number
                // the loop could confuse with a new one.
                std::mem::forget(rx);
                e.write_unraisable(py, None);
            }
        }
    }
}

#[pymethods]
impl LoopCallback {
    fn __call__(&self, py: Python<'_>) {
        if let Some(reactor) = &self.keep {
            reactor.on_event(py, self.event);
        } else if let Some(reactor) = self.reactor() {
            reactor.on_event(py, self.event);
        } else {
            self.orphaned(py);
        }
    }
}

impl Drop for LoopCallback {
    fn drop(&mut self) {
        // The loop alone holds the callback of the wake-up reader: it goes when our own
        // release removes the reader, or when the loop is closed (its selector forgets
        // every registration), the only way to learn that no callback will ever come.
        if self.event == Event::Notified
            && let Some(reactor) = self.reactor()
            && Python::attach(|py| reactor.loop_closed(py))
        {
            reactor.loop_gone();
        }
    }
}

/// The executor's view of an asyncio loop.
pub struct LoopLink {
    event_loop: Py<PyAny>,
    thread: ThreadId,
    /// Called soon to drain (kept: it is scheduled again and again).
    drain: Py<LoopCallback>,
    /// Wake-ups from other threads: one byte each.
    notify_tx: UnixStream,
}

impl EventLoop for LoopLink {
    fn on_loop_thread(&self) -> bool {
        std::thread::current().id() == self.thread
    }

    fn call_soon_drain(&self) {
        Python::attach(|py| {
            let cb = self.drain.clone_ref(py);
            if let Err(e) = self
                .event_loop
                .call_method1(py, intern!(py, "call_soon"), (cb,))
            {
                e.write_unraisable(py, None);
            }
        });
    }

    fn notify(&self) {
        let _ = (&self.notify_tx).write(&[1]);
    }
}

/// One connection's link to its event loop.
pub struct Reactor {
    /// The process the reactor was created in (see [`crate::fork`]).
    process: Process,
    event_loop: Py<PyAny>,
    /// The loop's queue of callbacks ready to run (asyncio's own loops have one, a
    /// `collections.deque` in `_ready`; None for others).
    ready_queue: Option<Py<PyAny>>,
    executor: Arc<Executor<LoopLink>>,
    io: Mutex<IoState>,
    /// The reading end of the wake-up socket pair.
    notify_rx: WakeupReader,
    readable: Py<LoopCallback>,
    writable: Py<LoopCallback>,
}

/// What a task of the connection produces: the value its `asyncio.Future` gets.
pub type Outcome = PyResult<Py<PyAny>>;

impl Reactor {
    /// A reactor on the running event loop of this thread.
    pub fn new(py: Python<'_>) -> PyResult<Arc<Reactor>> {
        let event_loop = py
            .import(intern!(py, "asyncio"))?
            .call_method0(intern!(py, "get_running_loop"))?
            .unbind();
        let handle = background::handle()?;
        let (notify_tx, notify_rx) = UnixStream::pair()?;
        notify_tx.set_nonblocking(true)?;
        notify_rx.set_nonblocking(true)?;
        let notify_fd = notify_rx.as_raw_fd();
        let notify_rx: WakeupReader = Arc::new(Mutex::new(Some(notify_rx)));
        let [readable, writable, drain] = [Event::Readable, Event::Writable, Event::Drain]
            .map(|event| LoopCallback::new(py, event, None));
        let watch = LoopCallback::new(py, Event::Notified, Some(notify_rx.clone()));
        let (readable, writable, drain, watch) = (readable?, writable?, drain?, watch?);
        let callbacks = [&readable, &writable, &drain, &watch].map(|cb| cb.clone_ref(py));
        let reactor = Arc::new(Reactor {
            process: Process::current(),
            executor: Executor::new(
                LoopLink {
                    event_loop: event_loop.clone_ref(py),
                    thread: std::thread::current().id(),
                    drain,
                    notify_tx,
                },
                handle,
            ),
            ready_queue: ready_queue(event_loop.bind(py)),
            event_loop,
            io: Mutex::new(IoState::default()),
            notify_rx,
            readable,
            writable,
        });
        for cb in callbacks {
            let _ = cb.get().reactor.set(Arc::downgrade(&reactor));
        }
        // The wake-up reader's callback is held by the loop alone (see `LoopCallback`).
        reactor
            .event_loop
            .call_method1(py, intern!(py, "add_reader"), (notify_fd, watch))?;
        Ok(reactor)
    }

    /// Fails unless called on the loop's thread, with the loop still open.
    pub fn check_usable(&self) -> Result<(), DbError> {
        if self.is_gone() {
            return Err(DbError::interface(
                "Cannot operate on a closed connection: its event loop was closed",
            )
            .connection_lost());
        }
        if self.executor.event_loop().on_loop_thread() {
            Ok(())
        } else {
            Err(DbError::interface(
                "this asyncio connection belongs to an event loop of another thread",
            ))
        }
    }

    /// True when the loop is known to have no callback ready to run: this thread has
    /// nothing else to do until an answer comes.
    fn loop_idle(&self) -> bool {
        self.ready_queue
            .as_ref()
            .is_some_and(|ready| Python::attach(|py| ready.bind(py).len().is_ok_and(|n| n == 0)))
    }

    /// True once the event loop was closed (see [`loop_gone`](Self::loop_gone)).
    pub fn is_gone(&self) -> bool {
        self.executor.is_shut_down()
    }

    fn on_event(&self, py: Python<'_>, event: Event) {
        if event == Event::Close {
            self.release(py);
            return;
        }
        self.executor.run_callback(|| match event {
            Event::Readable => {
                let waker = lock(&self.io).read_waker.take();
                match waker {
                    Some(w) => w.wake(),
                    None => self.unregister(py, false),
                }
            }
            Event::Writable => {
                let waker = lock(&self.io).write_waker.take();
                if let Some(w) = waker {
                    w.wake();
                }
                self.unregister(py, true);
            }
            Event::Notified => {
                if let Some(rx) = lock(&self.notify_rx).as_ref() {
                    let mut sink = [0u8; 64];
                    while matches!((&*rx).read(&mut sink), Ok(n) if n > 0) {}
                }
                self.executor.notify_arrived();
            }
            Event::Drain => self.executor.drain_call_arrived(),
            Event::Close => {}
        });
        // Outside the poll: nothing of the connection's is held here.
        crate::logging::after_call(py);
    }

    /// `loop.add_reader(fd, cb)` and the like; `cb` None for the `remove_*` calls.
    fn loop_call(
        &self,
        py: Python<'_>,
        method: &Bound<'_, PyString>,
        fd: RawFd,
        cb: Option<&Py<LoopCallback>>,
    ) {
        let outcome = match cb {
            Some(cb) => self
                .event_loop
                .call_method1(py, method, (fd, cb.clone_ref(py))),
            None => self.event_loop.call_method1(py, method, (fd,)),
        };
        if let Err(e) = outcome {
            e.write_unraisable(py, None);
        }
    }

    fn loop_closed(&self, py: Python<'_>) -> bool {
        self.event_loop
            .call_method0(py, intern!(py, "is_closed"))
            .and_then(|c| c.extract::<bool>(py))
            .unwrap_or(true)
    }

    /// Registers interest in the socket becoming readable (or writable), once.
    fn register(&self, py: Python<'_>, write: bool) {
        let Some(fd) = self.flip_registration(write, true) else {
            return;
        };
        let (method, cb) = if write {
            (intern!(py, "add_writer"), &self.writable)
        } else {
            (intern!(py, "add_reader"), &self.readable)
        };
        self.loop_call(py, method, fd, Some(cb));
    }

    fn unregister(&self, py: Python<'_>, write: bool) {
        let Some(fd) = self.flip_registration(write, false) else {
            return;
        };
        let method = if write {
            intern!(py, "remove_writer")
        } else {
            intern!(py, "remove_reader")
        };
        self.loop_call(py, method, fd, None);
    }

    /// Sets the reading (or writing) registration flag to `on`; the socket's descriptor
    /// if that changed it.
    fn flip_registration(&self, write: bool, on: bool) -> Option<RawFd> {
        let mut io = lock(&self.io);
        let fd = io.socket.as_ref()?.as_raw_fd();
        let flag = if write {
            &mut io.writing
        } else {
            &mut io.reading
        };
        if *flag == on {
            return None;
        }
        *flag = on;
        Some(fd)
    }

    /// Makes the socket fail from now on and wakes whoever waits on it; the socket is
    /// released on the loop's thread.
    pub fn abort(&self, reason: &str) {
        let wakers = {
            let mut io = lock(&self.io);
            io.closed.get_or_insert_with(|| reason.to_owned());
            io.take_wakers()
        };
        for waker in wakers.into_iter().flatten() {
            waker.wake();
        }
    }

    /// Unregisters everything from the loop and closes the sockets (loop thread only).
    pub fn release(&self, py: Python<'_>) {
        if !self.process.is_current() {
            self.release_in_child();
            return;
        }
        let closed = self.loop_closed(py);
        let (socket, reading, writing) = {
            let mut io = lock(&self.io);
            let registered = (io.reading, io.writing);
            (
                io.close("the connection is closed"),
                registered.0,
                registered.1,
            )
        };
        if let Some(socket) = socket {
            let fd = socket.as_raw_fd();
            if !closed {
                if reading {
                    self.loop_call(py, intern!(py, "remove_reader"), fd, None);
                }
                if writing {
                    self.loop_call(py, intern!(py, "remove_writer"), fd, None);
                }
            }
            drop(socket);
        }
        if let Some(rx) = lock(&self.notify_rx).take()
            && !closed
        {
            self.loop_call(py, intern!(py, "remove_reader"), rx.as_raw_fd(), None);
        }
    }

    /// Closes the sockets: now on the loop's thread, else from the loop. The background
    /// thread never touches Python: there the sockets stay open (and registered) until the
    /// reactor is dropped.
    fn release_anywhere(self: &Arc<Self>) {
        if !self.process.is_current() {
            self.release_in_child();
            return;
        }
        if background::on_background_thread() {
            return;
        }
        if self.executor.event_loop().on_loop_thread() {
            Python::attach(|py| self.release(py));
            return;
        }
        Python::attach(|py| {
            let cb = LoopCallback {
                reactor: OnceLock::from(Arc::downgrade(self)),
                keep: Some(self.clone()),
                event: Event::Close,
                wakeup: None,
            };
            let scheduled =
                self.event_loop
                    .call_method1(py, intern!(py, "call_soon_threadsafe"), (cb,));
            if scheduled.is_err() {
                // The loop is closed: nothing is registered any more.
                let socket = lock(&self.io).close("the connection is closed");
                drop(socket);
                *lock(&self.notify_rx) = None;
            }
        });
    }

    /// The event loop was closed: nothing will poll a task again. The sockets are closed
    /// (the server ends the session, rolling back its transaction) and the tasks waiting
    /// here are dropped, which breaks the cycle that would keep all of it alive until the
    /// process exits (task, connection, stream, reactor, task). A task woken later (by a
    /// timer) is dropped then.
    fn loop_gone(&self) {
        if !self.process.is_current() {
            self.release_in_child();
            return;
        }
        let queued = self.executor.shut_down();
        let (socket, wakers) = {
            let mut io = lock(&self.io);
            (io.close("its event loop was closed"), io.take_wakers())
        };
        let notify_rx = lock(&self.notify_rx).take();
        // Outside the locks: a dropped task may drop the connection, whose stream takes
        // them again.
        drop((socket, notify_rx));
        drop(wakers);
        drop(queued);
    }

    /// In a forked child: closes this process's copies of the descriptors, without a word
    /// to the event loop (its epoll set is shared with the parent, which still uses these
    /// registrations). Tasks and wakers are leaked: dropping a task could touch the
    /// parent's background runtime, whose thread does not exist here.
    fn release_in_child(&self) {
        if let Some(mut io) = try_lock(&self.io) {
            let socket = io.close("the connection belongs to another process");
            drop(socket);
            std::mem::forget(io.take_wakers());
        }
        if let Some(mut rx) = try_lock(&self.notify_rx) {
            *rx = None;
        }
        self.executor.forget_tasks();
    }
}

impl Drop for Reactor {
    fn drop(&mut self) {
        if !self.process.is_current() {
            self.release_in_child();
            return;
        }
        // Still registered with a live loop (which would keep a stale key for the fd
        // number): keep the descriptors open rather than confuse the loop.
        let io = self
            .io
            .get_mut()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if (io.reading || io.writing)
            && let Some(socket) = io.socket.take()
        {
            std::mem::forget(socket);
        }
        // A wake-up reader still registered stays with its callback, which the loop calls
        // at once (the writing end closes with the executor) to unregister and close it.
    }
}

/// The queue of ready callbacks of `event_loop`, if it is asyncio's own `BaseEventLoop`
/// (kept in `_ready`, the same deque for the loop's life).
fn ready_queue(event_loop: &Bound<'_, PyAny>) -> Option<Py<PyAny>> {
    let py = event_loop.py();
    let ready = event_loop.getattr(intern!(py, "_ready")).ok()?;
    let deque = py
        .import(intern!(py, "collections"))
        .ok()?
        .getattr(intern!(py, "deque"))
        .ok()?;
    ready.is_instance(&deque).ok()?.then(|| ready.unbind())
}
