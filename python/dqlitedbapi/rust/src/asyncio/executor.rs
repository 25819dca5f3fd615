//! The executor of an asyncio connection: each operation is a task, a future polled on
//! the event loop's thread. This part knows nothing of Python: it asks its
//! [`EventLoop`] for a callback when it needs one, and the reactor calls it back.
//!
//! The rules, each tested below:
//! * A spawned task is polled at once (so a request is written before the call that
//!   made it returns), or by the drain already running.
//! * A drain polls ready tasks until none is left; a task woken while tasks are being
//!   polled only joins the queue, and the running drain polls it too.
//! * A wake on the loop's thread outside a drain asks the loop for one `call_soon` of a
//!   drain; further wakes before that drain runs ask for nothing more.
//! * A wake from another thread (a timer of the background runtime) notifies the loop
//!   once; further wakes before the loop has taken the notification notify nothing more.
//! * A loop callback (the socket became readable...) claims the drain before it wakes a
//!   task, so the task is polled within that callback, not one loop turn later.
//! * A task is queued once however often it is woken before it is polled, and a finished
//!   task is never polled again.
//! * A drain asked to yield (a read used up its turn's budget) stops, leaving the rest
//!   queued, and asks for a `call_soon`, so the loop's other callbacks run in between.
//! * Once shut down (its loop was closed), the executor drops woken tasks instead of
//!   queueing them.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::task::{Context, Wake, Waker};

use tokio::runtime::Handle;

use super::lock;

/// A task's future.
pub type TaskFuture = Pin<Box<dyn Future<Output = ()> + Send>>;

/// What the executor asks of the event loop it runs on.
pub trait EventLoop: Send + Sync + 'static {
    /// True on the loop's thread.
    fn on_loop_thread(&self) -> bool;
    /// (On the loop's thread.) Has the loop call [`Executor::drain_call_arrived`] and then
    /// drain soon, after the callbacks it already has ready.
    fn call_soon_drain(&self);
    /// (From another thread.) Wakes the loop, which then calls
    /// [`Executor::notify_arrived`] and drains.
    fn notify(&self);
}

/// Ready tasks and the flags of the rules above.
pub struct Executor<L: EventLoop> {
    event_loop: L,
    /// The runtime whose context tasks are polled in (their timers live there).
    handle: Handle,
    ready: Mutex<VecDeque<Arc<Task<L>>>>,
    /// Tasks are being polled: wakes only queue.
    draining: AtomicBool,
    /// A read used up its turn's budget: the drain stops and resumes from `call_soon`.
    yield_requested: AtomicBool,
    drain_scheduled: AtomicBool,
    notify_pending: AtomicBool,
    shut_down: AtomicBool,
    /// Drains started so far (a stream's per-turn read budget starts again with each).
    turn: AtomicU64,
}

impl<L: EventLoop> Executor<L> {
    /// An executor on `event_loop`, polling in the context of `handle`.
    pub fn new(event_loop: L, handle: Handle) -> Arc<Self> {
        Arc::new(Executor {
            event_loop,
            handle,
            ready: Mutex::new(VecDeque::new()),
            draining: AtomicBool::new(false),
            yield_requested: AtomicBool::new(false),
            drain_scheduled: AtomicBool::new(false),
            notify_pending: AtomicBool::new(false),
            shut_down: AtomicBool::new(false),
            turn: AtomicU64::new(0),
        })
    }

    /// The loop this executor runs on.
    pub fn event_loop(&self) -> &L {
        &self.event_loop
    }

    /// Starts a task (on the loop's thread): it is polled now, or by the running drain.
    pub fn spawn(self: &Arc<Self>, future: TaskFuture) {
        if self.is_shut_down() {
            return;
        }
        let task = Arc::new(Task {
            executor: Arc::downgrade(self),
            future: Mutex::new(Some(future)),
            queued: AtomicBool::new(true),
        });
        lock(&self.ready).push_back(task);
        self.drain();
    }

    /// Polls every ready task, unless a drain is already running (on the loop's thread).
    pub fn drain(&self) {
        if !self.draining.swap(true, Ordering::AcqRel) {
            self.drain_claimed();
        }
    }

    /// Runs a loop callback's `wakes` (which wake tasks), then polls the tasks they woke,
    /// in this same callback (on the loop's thread).
    pub fn run_callback(&self, wakes: impl FnOnce()) {
        let nested = self.draining.swap(true, Ordering::AcqRel);
        wakes();
        if !nested {
            self.drain_claimed();
        }
    }

    /// The `call_soon` asked for by [`EventLoop::call_soon_drain`] is running.
    pub fn drain_call_arrived(&self) {
        self.drain_scheduled.store(false, Ordering::Release);
    }

    /// The loop took the notification of [`EventLoop::notify`].
    pub fn notify_arrived(&self) {
        self.notify_pending.store(false, Ordering::Release);
    }

    /// Asks the running drain to stop and resume on a later turn of the loop.
    pub fn request_yield(&self) {
        self.yield_requested.store(true, Ordering::Release);
    }

    /// The number of the current (or last) drain.
    pub fn turn(&self) -> u64 {
        self.turn.load(Ordering::Acquire)
    }

    /// True once [`shut_down`](Self::shut_down).
    pub fn is_shut_down(&self) -> bool {
        self.shut_down.load(Ordering::Acquire)
    }

    /// Stops for good (the loop was closed): returns the queued tasks, to be dropped by the
    /// caller outside its locks; tasks woken later are dropped at once.
    pub fn shut_down(&self) -> VecDeque<Arc<Task<L>>> {
        self.shut_down.store(true, Ordering::Release);
        std::mem::take(&mut *lock(&self.ready))
    }

    /// Leaks the queued tasks (in a forked child, where dropping them could wait on the
    /// parent's runtime, whose thread does not exist).
    pub fn forget_tasks(&self) {
        if let Ok(mut ready) = self.ready.try_lock() {
            std::mem::forget(std::mem::take(&mut *ready));
        }
    }

    /// [`drain`](Self::drain), once this call has set `draining`.
    fn drain_claimed(&self) {
        let _context = self.handle.enter();
        self.turn.fetch_add(1, Ordering::AcqRel);
        loop {
            if self.yield_requested.swap(false, Ordering::AcqRel) {
                // Let the loop run its other callbacks (timers, other tasks) first.
                self.draining.store(false, Ordering::Release);
                self.ask_for_drain();
                return;
            }
            let next = lock(&self.ready).pop_front();
            let Some(task) = next else { break };
            task.queued.store(false, Ordering::Release);
            task.poll();
        }
        self.draining.store(false, Ordering::Release);
    }

    /// Queues a woken task and makes sure the loop polls it.
    fn schedule(&self, task: Arc<Task<L>>) {
        if self.is_shut_down() {
            return;
        }
        lock(&self.ready).push_back(task);
        if self.event_loop.on_loop_thread() {
            if !self.draining.load(Ordering::Acquire) {
                self.ask_for_drain();
            }
        } else if !self.notify_pending.swap(true, Ordering::AcqRel) {
            self.event_loop.notify();
        }
    }

    fn ask_for_drain(&self) {
        if !self.drain_scheduled.swap(true, Ordering::AcqRel) {
            self.event_loop.call_soon_drain();
        }
    }
}

/// One operation: a future polled on the loop's thread until it ends.
pub struct Task<L: EventLoop> {
    executor: Weak<Executor<L>>,
    future: Mutex<Option<TaskFuture>>,
    /// In the ready queue (or being spawned).
    queued: AtomicBool,
}

impl<L: EventLoop> Task<L> {
    fn poll(self: &Arc<Self>) {
        let mut slot = lock(&self.future);
        let Some(future) = slot.as_mut() else {
            return;
        };
        let waker = Waker::from(self.clone());
        let mut cx = Context::from_waker(&waker);
        if future.as_mut().poll(&mut cx).is_ready() {
            // Dropped outside the lock: dropping a future may wake other tasks.
            let finished = slot.take();
            drop(slot);
            drop(finished);
        }
    }
}

impl<L: EventLoop> Wake for Task<L> {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        if self.queued.swap(true, Ordering::AcqRel) {
            return;
        }
        if let Some(executor) = self.executor.upgrade() {
            executor.schedule(self.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicUsize;
    use std::task::Poll;

    use super::*;

    /// A loop that records what it was asked for.
    #[derive(Default)]
    struct FakeLoop {
        /// Calls come from "another thread" while false.
        on_thread: AtomicBool,
        call_soons: AtomicUsize,
        notifies: AtomicUsize,
    }

    impl EventLoop for Arc<FakeLoop> {
        fn on_loop_thread(&self) -> bool {
            self.on_thread.load(Ordering::Acquire)
        }
        fn call_soon_drain(&self) {
            self.call_soons.fetch_add(1, Ordering::AcqRel);
        }
        fn notify(&self) {
            self.notifies.fetch_add(1, Ordering::AcqRel);
        }
    }

    type Exec = Arc<Executor<Arc<FakeLoop>>>;

    fn executor() -> (Exec, Arc<FakeLoop>, tokio::runtime::Runtime) {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let fake = Arc::new(FakeLoop::default());
        fake.on_thread.store(true, Ordering::Release);
        (Executor::new(fake.clone(), rt.handle().clone()), fake, rt)
    }

    /// A task that counts its polls, parks its waker where the test can reach it, and
    /// ends once `finish` is set.
    #[derive(Default)]
    struct Probe {
        polls: AtomicUsize,
        waker: Mutex<Option<Waker>>,
        finish: AtomicBool,
    }

    impl Probe {
        fn future(self: &Arc<Self>) -> TaskFuture {
            let probe = self.clone();
            Box::pin(std::future::poll_fn(move |cx| {
                probe.polls.fetch_add(1, Ordering::AcqRel);
                if probe.finish.load(Ordering::Acquire) {
                    return Poll::Ready(());
                }
                *lock(&probe.waker) = Some(cx.waker().clone());
                Poll::Pending
            }))
        }
        fn polls(&self) -> usize {
            self.polls.load(Ordering::Acquire)
        }
        fn wake(&self) {
            if let Some(w) = lock(&self.waker).clone() {
                w.wake();
            }
        }
    }

    #[test]
    fn a_spawned_task_is_polled_at_once() {
        let (exec, fake, _rt) = executor();
        let probe = Arc::new(Probe::default());
        exec.spawn(probe.future());
        assert_eq!(probe.polls(), 1);
        assert_eq!(fake.call_soons.load(Ordering::Acquire), 0);
    }

    #[test]
    fn a_wake_outside_a_drain_asks_for_one_call_soon() {
        let (exec, fake, _rt) = executor();
        let probe = Arc::new(Probe::default());
        exec.spawn(probe.future());
        probe.wake();
        probe.wake();
        // Queued once, one call_soon asked for, not polled yet.
        assert_eq!(lock(&exec.ready).len(), 1);
        assert_eq!(fake.call_soons.load(Ordering::Acquire), 1);
        assert_eq!(probe.polls(), 1);
        // Another task woken before the drain runs asks for nothing more.
        let other = Arc::new(Probe::default());
        exec.spawn(other.future());
        other.wake();
        assert_eq!(fake.call_soons.load(Ordering::Acquire), 1);
        // The call_soon runs: both are polled once each.
        exec.run_callback(|| exec.drain_call_arrived());
        assert_eq!((probe.polls(), other.polls()), (2, 2));
        // The next wake asks again.
        probe.wake();
        assert_eq!(fake.call_soons.load(Ordering::Acquire), 2);
    }

    #[test]
    fn a_wake_during_a_drain_is_polled_by_that_drain() {
        let (exec, fake, _rt) = executor();
        let second = Arc::new(Probe::default());
        exec.spawn(second.future());
        let woken = second.clone();
        // A task that wakes `second` while it is being polled, then ends.
        exec.spawn(Box::pin(async move { woken.wake() }));
        assert_eq!(second.polls(), 2);
        assert_eq!(fake.call_soons.load(Ordering::Acquire), 0);
    }

    #[test]
    fn a_callback_polls_the_task_it_wakes_itself() {
        let (exec, fake, _rt) = executor();
        let probe = Arc::new(Probe::default());
        exec.spawn(probe.future());
        exec.run_callback(|| probe.wake());
        assert_eq!(probe.polls(), 2);
        assert_eq!(fake.call_soons.load(Ordering::Acquire), 0);
    }

    #[test]
    fn a_wake_from_another_thread_notifies_once() {
        let (exec, fake, _rt) = executor();
        let probe = Arc::new(Probe::default());
        exec.spawn(probe.future());
        fake.on_thread.store(false, Ordering::Release);
        let remote = probe.clone();
        std::thread::spawn(move || {
            remote.wake();
            remote.wake();
        })
        .join()
        .unwrap();
        assert_eq!(fake.notifies.load(Ordering::Acquire), 1);
        assert_eq!(fake.call_soons.load(Ordering::Acquire), 0);
        fake.on_thread.store(true, Ordering::Release);
        exec.run_callback(|| exec.notify_arrived());
        assert_eq!(probe.polls(), 2);
        // Taken: the next wake from another thread notifies again.
        fake.on_thread.store(false, Ordering::Release);
        probe.wake();
        assert_eq!(fake.notifies.load(Ordering::Acquire), 2);
    }

    #[test]
    fn a_finished_task_is_not_polled_again() {
        let (exec, _fake, _rt) = executor();
        let probe = Arc::new(Probe::default());
        exec.spawn(probe.future());
        probe.finish.store(true, Ordering::Release);
        probe.wake();
        exec.run_callback(|| exec.drain_call_arrived());
        assert_eq!(probe.polls(), 2);
        probe.wake();
        exec.run_callback(|| exec.drain_call_arrived());
        assert_eq!(probe.polls(), 2);
    }

    #[test]
    fn a_drain_asked_to_yield_leaves_the_rest_for_a_later_turn() {
        let (exec, fake, _rt) = executor();
        // A task that, like a read over its turn's budget, asks the drain to yield when
        // polled the second time.
        let yielder = Arc::new(Probe::default());
        let (yielding, probe) = (exec.clone(), yielder.clone());
        let mut inner = yielder.future();
        exec.spawn(Box::pin(std::future::poll_fn(move |cx| {
            if probe.polls() == 1 {
                yielding.request_yield();
            }
            inner.as_mut().poll(cx)
        })));
        let second = Arc::new(Probe::default());
        exec.spawn(second.future());
        let turn = exec.turn();
        exec.run_callback(|| {
            yielder.wake();
            second.wake();
        });
        assert_eq!((yielder.polls(), second.polls()), (2, 1));
        assert_eq!(lock(&exec.ready).len(), 1);
        assert_eq!(fake.call_soons.load(Ordering::Acquire), 1);
        exec.run_callback(|| exec.drain_call_arrived());
        assert_eq!(second.polls(), 2);
        assert_eq!(exec.turn(), turn + 2);
    }

    #[test]
    fn a_shut_down_executor_drops_woken_tasks() {
        let (exec, _fake, _rt) = executor();
        let probe = Arc::new(Probe::default());
        exec.spawn(probe.future());
        assert!(exec.shut_down().is_empty());
        probe.wake();
        assert!(lock(&exec.ready).is_empty());
        exec.spawn(Arc::new(Probe::default()).future());
        assert!(lock(&exec.ready).is_empty());
        // Nothing holds the task (and its future) but its last waker.
        let weak = Arc::downgrade(&probe);
        let waker = lock(&probe.waker).take();
        drop(probe);
        assert!(weak.upgrade().is_some());
        drop(waker);
        assert!(weak.upgrade().is_none());
    }
}
