//! asyncio connections: the socket lives on the asyncio event loop, and the client's
//! futures are polled on the loop's thread.
//!
//! After leader discovery, the connection's socket is taken out of tokio
//! ([`dqlite_client::Connection::replace_socket`]) and wrapped in an [`AsyncioStream`]:
//! reads and writes are non-blocking system calls made from the loop's thread, and
//! readiness comes from `loop.add_reader` / `loop.add_writer`. Each operation (execute,
//! fetch, commit...) is a [`Task`]: a boxed future of the connection core (the same code
//! as the blocking driver: one implementation of the protocol), polled at once when the
//! call is made (so the request is written before the call returns) and again whenever
//! the socket becomes readable. Its answer completes an `asyncio.Future`. No thread is
//! involved in a round trip, and no thread but the loop's ever touches Python.
//!
//! The client's timers (request deadlines, busy retries) and the leader discovery's
//! sockets use a background tokio runtime on a thread of its own; its wake-ups reach the
//! loop through a socket pair registered with `add_reader`, never through Python, so the
//! interpreter's shutdown cannot race with it.

use std::cell::Cell;
use std::collections::VecDeque;
use std::future::Future;
use std::io::{self, Read, Write};
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixStream;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::task::{Context, Poll, Wake, Waker};
use std::thread::ThreadId;
use std::time::Duration;

use pyo3::intern;
use pyo3::prelude::*;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::runtime::Handle;

use crate::errors::DbError;
use crate::fork::Process;

/// What a task produces: the value its `asyncio.Future` is completed with.
pub type TaskFuture = Pin<Box<dyn Future<Output = PyResult<Py<PyAny>>> + Send>>;

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

thread_local! {
    /// True on the background runtime's thread, which must never touch Python.
    static ON_BACKGROUND: Cell<bool> = const { Cell::new(false) };
}

/// The background runtime of this process (a new one after `fork`).
static BACKGROUND: Mutex<Option<(u32, Handle)>> = Mutex::new(None);

/// A timer that always fires within this delay keeps the runtime's next wake-up close,
/// so registering a request deadline (seconds away) never has to wake its thread.
const SENTINEL: Duration = Duration::from_millis(250);

fn background() -> Result<Handle, DbError> {
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

/// What the loop calls back.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Event {
    Readable,
    Writable,
    Notified,
    Drain,
    Close,
}

/// A callback registered with the event loop.
#[pyclass(frozen, module = "dqlitedbapi._native")]
pub struct LoopCallback {
    reactor: Weak<Reactor>,
    /// Keeps the reactor alive until a close scheduled from another thread has run.
    keep: Option<Arc<Reactor>>,
    event: Event,
}

#[pymethods]
impl LoopCallback {
    fn __call__(&self, py: Python<'_>) {
        if let Some(reactor) = &self.keep {
            reactor.on_event(py, self.event);
        } else if let Some(reactor) = self.reactor.upgrade() {
            reactor.on_event(py, self.event);
        }
    }
}

impl Drop for LoopCallback {
    fn drop(&mut self) {
        // The loop alone holds the callback of the wake-up reader: it goes when our own
        // release removes the reader, or when the loop is closed (its selector forgets
        // every registration), the only way to learn that no callback will ever come.
        if self.event == Event::Notified
            && let Some(reactor) = self.reactor.upgrade()
            && Python::attach(|py| reactor.loop_closed(py))
        {
            reactor.loop_gone();
        }
    }
}

/// The socket and its registrations with the loop.
#[derive(Default)]
struct IoState {
    socket: Option<socket2::Socket>,
    read_waker: Option<Waker>,
    write_waker: Option<Waker>,
    /// `add_reader` / `add_writer` are in force for the socket.
    reading: bool,
    writing: bool,
    /// Why reads and writes fail from now on.
    closed: Option<String>,
    /// Scratch buffer for reads (filled by the kernel, copied into the caller's).
    scratch: Vec<u8>,
    /// Bytes read since the loop last called us (see [`READ_BUDGET`]).
    read_this_turn: usize,
}

/// One connection's link to its event loop.
pub struct Reactor {
    /// The process the reactor was created in (see [`crate::fork`]).
    process: Process,
    loop_thread: ThreadId,
    event_loop: Py<PyAny>,
    handle: Handle,
    io: Mutex<IoState>,
    ready: Mutex<VecDeque<Arc<Task>>>,
    /// Tasks are being polled (on the loop's thread): wakes only queue.
    draining: AtomicBool,
    /// A read used up its turn's budget: the drain stops and resumes from `call_soon`.
    yield_requested: AtomicBool,
    drain_scheduled: AtomicBool,
    /// Wake-ups from other threads: one byte into `notify_tx`.
    notify_tx: UnixStream,
    notify_rx: Mutex<Option<UnixStream>>,
    notify_pending: AtomicBool,
    callbacks: Mutex<Option<Callbacks>>,
    /// The event loop was closed.
    gone: AtomicBool,
}

/// The callbacks registered again and again. The wake-up reader's callback is not kept
/// here: see [`LoopCallback`]'s `drop`.
struct Callbacks {
    readable: Py<LoopCallback>,
    writable: Py<LoopCallback>,
    drain: Py<LoopCallback>,
    close: Py<LoopCallback>,
}

impl Callbacks {
    fn get(&self, event: Event) -> Option<&Py<LoopCallback>> {
        match event {
            Event::Readable => Some(&self.readable),
            Event::Writable => Some(&self.writable),
            Event::Drain => Some(&self.drain),
            Event::Close => Some(&self.close),
            Event::Notified => None,
        }
    }
}

fn closed_error(reason: &str) -> io::Error {
    io::Error::new(io::ErrorKind::NotConnected, reason.to_owned())
}

impl Reactor {
    /// A reactor on the running event loop of this thread.
    pub fn new(py: Python<'_>) -> PyResult<Arc<Reactor>> {
        let event_loop = py
            .import(intern!(py, "asyncio"))?
            .call_method0(intern!(py, "get_running_loop"))?
            .unbind();
        let handle = background()?;
        let (notify_tx, notify_rx) = UnixStream::pair()?;
        notify_tx.set_nonblocking(true)?;
        notify_rx.set_nonblocking(true)?;
        let notify_fd = notify_rx.as_raw_fd();
        let reactor = Arc::new(Reactor {
            process: Process::current(),
            loop_thread: std::thread::current().id(),
            event_loop,
            handle,
            io: Mutex::new(IoState::default()),
            ready: Mutex::new(VecDeque::new()),
            draining: AtomicBool::new(false),
            yield_requested: AtomicBool::new(false),
            drain_scheduled: AtomicBool::new(false),
            notify_tx,
            notify_rx: Mutex::new(Some(notify_rx)),
            notify_pending: AtomicBool::new(false),
            callbacks: Mutex::new(None),
            gone: AtomicBool::new(false),
        });
        let weak = Arc::downgrade(&reactor);
        let make = |event| {
            Py::new(
                py,
                LoopCallback {
                    reactor: weak.clone(),
                    keep: None,
                    event,
                },
            )
        };
        let callbacks = Callbacks {
            readable: make(Event::Readable)?,
            writable: make(Event::Writable)?,
            drain: make(Event::Drain)?,
            close: make(Event::Close)?,
        };
        reactor.event_loop.call_method1(
            py,
            intern!(py, "add_reader"),
            (notify_fd, make(Event::Notified)?),
        )?;
        *lock(&reactor.callbacks) = Some(callbacks);
        Ok(reactor)
    }

    fn on_loop_thread(&self) -> bool {
        std::thread::current().id() == self.loop_thread
    }

    /// Fails unless called on the loop's thread, with the loop still open.
    pub fn check_thread(&self) -> Result<(), DbError> {
        if self.is_gone() {
            return Err(DbError::interface(
                "Cannot operate on a closed connection: its event loop was closed",
            )
            .connection_lost());
        }
        if self.on_loop_thread() {
            Ok(())
        } else {
            Err(DbError::interface(
                "this asyncio connection belongs to an event loop of another thread",
            ))
        }
    }

    fn callback(&self, py: Python<'_>, event: Event) -> Option<Py<LoopCallback>> {
        lock(&self.callbacks)
            .as_ref()
            .and_then(|c| c.get(event))
            .map(|c| c.clone_ref(py))
    }

    /// `loop.add_reader(fd, cb)` and the like; `event` None for the `remove_*` calls.
    fn loop_call(
        &self,
        py: Python<'_>,
        method: &Bound<'_, pyo3::types::PyString>,
        fd: RawFd,
        event: Option<Event>,
    ) {
        let outcome = match event {
            Some(event) => match self.callback(py, event) {
                Some(cb) => self.event_loop.call_method1(py, method, (fd, cb)),
                None => return,
            },
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

    /// Spawns `future` as a task and returns its `asyncio.Future`. The task is polled at
    /// once, then whenever it is woken, to its end, even if the future is cancelled.
    pub fn spawn<'py>(
        self: &Arc<Self>,
        py: Python<'py>,
        future: TaskFuture,
    ) -> PyResult<Bound<'py, PyAny>> {
        self.spawn_with(py, |_| future)
    }

    /// [`spawn`](Self::spawn) of the future `make` builds; it gets the `asyncio.Future`
    /// the task completes (to see whether its result is still awaited).
    pub fn spawn_with<'py>(
        self: &Arc<Self>,
        py: Python<'py>,
        make: impl FnOnce(Py<PyAny>) -> TaskFuture,
    ) -> PyResult<Bound<'py, PyAny>> {
        self.check_thread()?;
        let py_future = self
            .event_loop
            .bind(py)
            .call_method0(intern!(py, "create_future"))?;
        let future = make(py_future.clone().unbind());
        let task = Arc::new(Task {
            reactor: Arc::downgrade(self),
            future: Mutex::new(Some(future)),
            py_future: Mutex::new(Some(py_future.clone().unbind())),
            queued: AtomicBool::new(true),
        });
        lock(&self.ready).push_back(task);
        if !self.draining.load(Ordering::Acquire) {
            self.drain(py);
        }
        Ok(py_future)
    }

    /// Polls every ready task (on the loop's thread).
    fn drain(&self, py: Python<'_>) {
        if self.draining.swap(true, Ordering::AcqRel) {
            return;
        }
        self.drain_claimed(py);
    }

    /// [`drain`](Self::drain), once this call has set `draining`.
    fn drain_claimed(&self, py: Python<'_>) {
        let _context = self.handle.enter();
        lock(&self.io).read_this_turn = 0;
        loop {
            if self.yield_requested.swap(false, Ordering::AcqRel) {
                // Let the loop run its other callbacks (timers, other tasks) first.
                self.draining.store(false, Ordering::Release);
                self.call_soon_drain(py);
                return;
            }
            let next = lock(&self.ready).pop_front();
            let Some(task) = next else { break };
            task.queued.store(false, Ordering::Release);
            task.poll(py);
        }
        self.draining.store(false, Ordering::Release);
    }

    fn on_event(&self, py: Python<'_>, event: Event) {
        if event == Event::Close {
            self.release(py);
            return;
        }
        // Claimed before the wakes below: a woken task is drained right here, not through
        // one more `call_soon` (and loop turn) per wake-up.
        let nested = self.draining.swap(true, Ordering::AcqRel);
        match event {
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
                self.notify_pending.store(false, Ordering::Release);
            }
            Event::Drain => self.drain_scheduled.store(false, Ordering::Release),
            Event::Close => {}
        }
        if !nested {
            self.drain_claimed(py);
        }
    }

    /// True once the event loop was closed (see [`loop_gone`](Self::loop_gone)).
    pub fn is_gone(&self) -> bool {
        self.gone.load(Ordering::Acquire)
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
        self.gone.store(true, Ordering::Release);
        let (socket, wakers) = {
            let mut io = lock(&self.io);
            io.closed
                .get_or_insert_with(|| "its event loop was closed".to_owned());
            io.reading = false;
            io.writing = false;
            (
                io.socket.take(),
                [io.read_waker.take(), io.write_waker.take()],
            )
        };
        let notify_rx = lock(&self.notify_rx).take();
        let ready = std::mem::take(&mut *lock(&self.ready));
        // Outside the locks: a dropped task may drop the connection, whose stream takes
        // them again.
        drop((socket, notify_rx));
        drop(wakers);
        drop(ready);
    }

    /// Queues a woken task; makes sure the loop polls it.
    fn schedule(&self, task: Arc<Task>) {
        if self.is_gone() {
            return;
        }
        lock(&self.ready).push_back(task);
        if self.on_loop_thread() {
            if !self.draining.load(Ordering::Acquire) {
                Python::attach(|py| self.call_soon_drain(py));
            }
        } else if !self.notify_pending.swap(true, Ordering::AcqRel) {
            let _ = (&self.notify_tx).write(&[1]);
        }
    }

    /// Makes sure the loop calls `drain` soon (on the loop's thread).
    fn call_soon_drain(&self, py: Python<'_>) {
        if self.drain_scheduled.swap(true, Ordering::AcqRel) {
            return;
        }
        if let Some(cb) = self.callback(py, Event::Drain)
            && let Err(e) = self
                .event_loop
                .call_method1(py, intern!(py, "call_soon"), (cb,))
        {
            e.write_unraisable(py, None);
        }
    }

    /// Registers or removes interest in the socket (on the loop's thread).
    fn register(&self, py: Python<'_>, write: bool) {
        let fd = {
            let mut io = lock(&self.io);
            let Some(socket) = io.socket.as_ref() else {
                return;
            };
            let fd = socket.as_raw_fd();
            let flag = if write {
                &mut io.writing
            } else {
                &mut io.reading
            };
            if *flag {
                return;
            }
            *flag = true;
            fd
        };
        let (method, event) = if write {
            (intern!(py, "add_writer"), Event::Writable)
        } else {
            (intern!(py, "add_reader"), Event::Readable)
        };
        self.loop_call(py, method, fd, Some(event));
    }

    fn unregister(&self, py: Python<'_>, write: bool) {
        let fd = {
            let mut io = lock(&self.io);
            let Some(socket) = io.socket.as_ref() else {
                return;
            };
            let fd = socket.as_raw_fd();
            let flag = if write {
                &mut io.writing
            } else {
                &mut io.reading
            };
            if !*flag {
                return;
            }
            *flag = false;
            fd
        };
        let method = if write {
            intern!(py, "remove_writer")
        } else {
            intern!(py, "remove_reader")
        };
        self.loop_call(py, method, fd, None);
    }

    /// Makes the socket fail from now on and wakes whoever waits on it; the socket is
    /// released on the loop's thread.
    pub fn abort(&self, reason: &str) {
        let (r, w) = {
            let mut io = lock(&self.io);
            io.closed.get_or_insert_with(|| reason.to_owned());
            (io.read_waker.take(), io.write_waker.take())
        };
        for waker in [r, w].into_iter().flatten() {
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
            io.closed
                .get_or_insert_with(|| "the connection is closed".to_owned());
            let out = (io.socket.take(), io.reading, io.writing);
            io.reading = false;
            io.writing = false;
            out
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
        if ON_BACKGROUND.with(Cell::get) {
            return;
        }
        if self.on_loop_thread() {
            Python::attach(|py| self.release(py));
            return;
        }
        Python::attach(|py| {
            let cb = LoopCallback {
                reactor: Arc::downgrade(self),
                keep: Some(self.clone()),
                event: Event::Close,
            };
            let scheduled =
                self.event_loop
                    .call_method1(py, intern!(py, "call_soon_threadsafe"), (cb,));
            if scheduled.is_err() {
                // The loop is closed: nothing is registered any more.
                let mut io = lock(&self.io);
                io.socket = None;
                io.reading = false;
                io.writing = false;
                drop(io);
                *lock(&self.notify_rx) = None;
            }
        });
    }

    /// In a forked child: closes this process's copies of the descriptors, without a word
    /// to the event loop (its epoll set is shared with the parent, which still uses these
    /// registrations). Wakers are leaked: dropping a task could touch the parent's
    /// background runtime, whose thread does not exist here.
    fn release_in_child(&self) {
        if let Some(mut io) = try_lock(&self.io) {
            io.closed
                .get_or_insert_with(|| "the connection belongs to another process".to_owned());
            io.socket = None;
            io.reading = false;
            io.writing = false;
            std::mem::forget(io.read_waker.take());
            std::mem::forget(io.write_waker.take());
        }
        if let Some(mut rx) = try_lock(&self.notify_rx) {
            *rx = None;
        }
    }
}

impl Drop for Reactor {
    fn drop(&mut self) {
        if !self.process.is_current() {
            let ready = self
                .ready
                .get_mut()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            std::mem::forget(std::mem::take(ready));
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
        let rx = self
            .notify_rx
            .get_mut()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(rx) = rx.take() {
            std::mem::forget(rx);
        }
    }
}

/// One operation: a future polled on the loop's thread, and the `asyncio.Future` it
/// completes.
pub struct Task {
    reactor: Weak<Reactor>,
    future: Mutex<Option<TaskFuture>>,
    py_future: Mutex<Option<Py<PyAny>>>,
    queued: AtomicBool,
}

impl Task {
    fn poll(self: &Arc<Self>, py: Python<'_>) {
        let mut slot = lock(&self.future);
        let Some(future) = slot.as_mut() else {
            return;
        };
        let waker = Waker::from(self.clone());
        let mut cx = Context::from_waker(&waker);
        let Poll::Ready(out) = future.as_mut().poll(&mut cx) else {
            return;
        };
        *slot = None;
        drop(slot);
        let Some(py_future) = lock(&self.py_future).take() else {
            return;
        };
        let py_future = py_future.bind(py);
        // A cancelled future takes no result; the operation still ran to its end.
        if py_future
            .call_method0(intern!(py, "done"))
            .and_then(|d| d.is_truthy())
            .unwrap_or(true)
        {
            return;
        }
        let set = match out {
            Ok(value) => py_future.call_method1(intern!(py, "set_result"), (value,)),
            Err(e) => py_future.call_method1(intern!(py, "set_exception"), (e.into_value(py),)),
        };
        if let Err(e) = set {
            e.write_unraisable(py, None);
        }
    }
}

impl Wake for Task {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        if self.queued.swap(true, Ordering::AcqRel) {
            return;
        }
        if let Some(reactor) = self.reactor.upgrade() {
            reactor.schedule(self.clone());
        }
    }
}

/// The connection's socket, read and written from the loop's thread.
pub struct AsyncioStream {
    reactor: Arc<Reactor>,
}

impl std::fmt::Debug for AsyncioStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AsyncioStream")
    }
}

/// Reads at most this much per system call.
const SCRATCH: usize = 256 * 1024;

/// Bytes read per turn of the event loop. A result arriving faster than it is decoded never
/// makes a read wait; past this budget the read yields to the loop anyway (through
/// `call_soon`), so timers, cancellation and other tasks run during a long fetch.
const READ_BUDGET: usize = 256 * 1024;

impl AsyncioStream {
    /// Takes over `fd` (a connected, non-blocking socket).
    pub fn new(reactor: Arc<Reactor>, fd: OwnedFd) -> io::Result<AsyncioStream> {
        let socket = socket2::Socket::from(fd);
        socket.set_nonblocking(true)?;
        {
            let mut io = lock(&reactor.io);
            io.socket = Some(socket);
            io.closed = None;
        }
        Ok(AsyncioStream { reactor })
    }

    fn io_error(io: &IoState) -> io::Error {
        closed_error(io.closed.as_deref().unwrap_or("the connection is closed"))
    }
}

impl AsyncRead for AsyncioStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let reactor = &self.reactor;
        let mut io = lock(&reactor.io);
        if io.closed.is_some() {
            return Poll::Ready(Err(Self::io_error(&io)));
        }
        let want = buf.remaining().min(SCRATCH);
        if want == 0 {
            return Poll::Ready(Ok(()));
        }
        if io.read_this_turn >= READ_BUDGET {
            drop(io);
            reactor.yield_requested.store(true, Ordering::Release);
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        let state = &mut *io;
        let Some(socket) = state.socket.as_ref() else {
            return Poll::Ready(Err(Self::io_error(state)));
        };
        if state.scratch.len() < want {
            state.scratch.resize(want, 0);
        }
        let scratch = state.scratch.get_mut(..want).unwrap_or_default();
        loop {
            match (&*socket).read(scratch) {
                Ok(n) => {
                    buf.put_slice(scratch.get(..n).unwrap_or_default());
                    state.read_this_turn += n;
                    return Poll::Ready(Ok(()));
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    state.read_waker = Some(cx.waker().clone());
                    let registered = state.reading;
                    drop(io);
                    if !registered {
                        Python::attach(|py| reactor.register(py, false));
                    }
                    return Poll::Pending;
                }
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
    }
}

impl AsyncWrite for AsyncioStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let reactor = &self.reactor;
        let mut io = lock(&reactor.io);
        if io.closed.is_some() {
            return Poll::Ready(Err(Self::io_error(&io)));
        }
        let state = &mut *io;
        let Some(socket) = state.socket.as_ref() else {
            return Poll::Ready(Err(Self::io_error(state)));
        };
        loop {
            match (&*socket).write(buf) {
                Ok(n) => return Poll::Ready(Ok(n)),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    state.write_waker = Some(cx.waker().clone());
                    drop(io);
                    Python::attach(|py| reactor.register(py, true));
                    return Poll::Pending;
                }
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

impl Drop for AsyncioStream {
    fn drop(&mut self) {
        self.reactor.release_anywhere();
    }
}
