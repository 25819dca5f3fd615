//! Deadlines: when a call must be over, and how a network wait is bounded by one (with a
//! timer the connection keeps from one request to the next).

use std::future::Future;
use std::pin::Pin;
use std::task::Poll;
use std::time::Duration;

/// When a call must be over: one request timeout after it started. (Kept small: a copy
/// sits in each layer of a request's future.)
#[derive(Debug, Clone, Copy)]
pub(crate) struct Deadline(tokio::time::Instant);

impl Deadline {
    /// `timeout` from now.
    pub(crate) fn after(timeout: Duration) -> Deadline {
        Deadline::at(tokio::time::Instant::now() + timeout)
    }

    /// At `instant`.
    pub(crate) fn at(instant: tokio::time::Instant) -> Deadline {
        Deadline(instant)
    }

    /// The time left, zero once passed.
    pub(crate) fn remaining(&self) -> Duration {
        self.0
            .saturating_duration_since(tokio::time::Instant::now())
    }
}

/// The deadline passed before the future completed (see [`within`]).
#[derive(Debug)]
pub(super) struct Elapsed;

/// The timer a connection keeps for its waits, so that each wait does not register a new
/// one with the runtime and remove it again (see [`within`]).
///
/// Each request's deadline is later than the one before: rather than move the timer (and
/// re-file it in tokio's wheel) every time, the wait leaves it at the earlier deadline and
/// moves it on only when that one passes, at most once per request timeout. Between
/// requests it may hold the waker of the task that waited last, and wake it once when its
/// deadline passes: a spurious wake-up, which futures allow. A timer registered with
/// another runtime than the one polling (a connection used from a second runtime, or
/// after its first one shut down) is replaced, never polled.
#[derive(Debug)]
pub(crate) struct Timer {
    runtime: tokio::runtime::Id,
    sleep: Pin<Box<tokio::time::Sleep>>,
}

impl Timer {
    /// The timer in `slot`, set to `deadline`: the one kept there when it belongs to the
    /// runtime polling, else a new one. `None` outside a runtime (where no timer runs).
    fn arm(slot: &mut Option<Timer>, deadline: Deadline) -> Option<Pin<&mut tokio::time::Sleep>> {
        let runtime = tokio::runtime::Handle::try_current().ok()?.id();
        let timer = match slot.take() {
            Some(mut kept) if kept.runtime == runtime => {
                // A later deadline is set only if the earlier one passes (see `within`).
                if kept.sleep.deadline() > deadline.0 {
                    kept.sleep.as_mut().reset(deadline.0);
                }
                kept
            }
            _ => Timer {
                runtime,
                sleep: Box::pin(tokio::time::sleep_until(deadline.0)),
            },
        };
        Some(slot.insert(timer).sleep.as_mut())
    }
}

/// `tokio::time::timeout_at` without its costs: the timer is only armed if `future` has to
/// wait (with blocking socket calls, most requests are done at the first poll), the one in
/// `timer` is reused (see [`Timer`]), and the future is not polled a second time when the
/// timer is armed (a wait on a socket would try the read again for nothing).
pub(super) async fn within<F: Future>(
    deadline: Deadline,
    timer: &mut Option<Timer>,
    future: F,
) -> Result<F::Output, Elapsed> {
    let mut future = std::pin::pin!(future);
    let first = std::future::poll_fn(|cx| {
        Poll::Ready(match future.as_mut().poll(cx) {
            Poll::Ready(out) => Some(out),
            Poll::Pending => None,
        })
    })
    .await;
    if let Some(out) = first {
        return Ok(out);
    }
    let mut unkept;
    let mut sleep = match Timer::arm(timer, deadline) {
        Some(kept) => kept,
        None => {
            // Outside a runtime: tokio's own error, as for any timer polled there.
            unkept = Box::pin(tokio::time::sleep_until(deadline.0));
            unkept.as_mut()
        }
    };
    // The future's wake-up is registered by the poll above, in this same poll of the task:
    // the first round only arms the timer.
    let mut armed = false;
    std::future::poll_fn(|cx| {
        if armed && let Poll::Ready(out) = future.as_mut().poll(cx) {
            return Poll::Ready(Ok(out));
        }
        armed = true;
        loop {
            match sleep.as_mut().poll(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(()) if sleep.deadline() >= deadline.0 => {
                    return Poll::Ready(Err(Elapsed));
                }
                // The earlier deadline of an earlier wait passed: on to this one's (the
                // next round is the last, pending or at this deadline).
                Poll::Ready(()) => sleep.as_mut().reset(deadline.0),
            }
        }
    })
    .await
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::{Deadline, Timer, within};

    async fn wake_after(delay: Duration) {
        let (tx, rx) = tokio::sync::oneshot::channel();
        tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            let _ = tx.send(());
        });
        let _ = rx.await;
    }

    #[tokio::test]
    async fn within_completes_a_future_woken_after_its_first_poll() {
        // The first poll registers the waker; the timer's set-up does not poll again.
        let (tx, rx) = tokio::sync::oneshot::channel();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(20)).await;
            let _ = tx.send(7);
        });
        let out = within(Deadline::after(Duration::from_secs(30)), &mut None, rx).await;
        assert!(matches!(out, Ok(Ok(7))), "{out:?}");
    }

    #[tokio::test]
    async fn within_gives_up_at_the_deadline() {
        let pending = std::future::pending::<()>();
        let out = within(
            Deadline::after(Duration::from_millis(20)),
            &mut None,
            pending,
        )
        .await;
        assert!(out.is_err());
    }

    #[tokio::test]
    async fn within_returns_a_ready_future_at_once() {
        // A deadline in the past: no timer is set up when the future is ready.
        let mut timer = None;
        let out = within(Deadline::after(Duration::ZERO), &mut timer, async { 5 }).await;
        assert!(matches!(out, Ok(5)));
        assert!(timer.is_none());
    }

    #[tokio::test]
    async fn a_kept_timer_moved_later_fires_at_its_new_deadline_only() {
        let mut timer = None;
        // Armed for 100 ms from now, then left registered.
        let waited = wake_after(Duration::from_millis(10));
        let out = within(
            Deadline::after(Duration::from_millis(100)),
            &mut timer,
            waited,
        )
        .await;
        assert!(out.is_ok());
        assert!(timer.is_some());
        // Moved to 300 ms: the old 100 ms passes without ending the wait.
        let started = Instant::now();
        let pending = std::future::pending::<()>();
        let out = within(
            Deadline::after(Duration::from_millis(300)),
            &mut timer,
            pending,
        )
        .await;
        assert!(out.is_err());
        let took = started.elapsed();
        assert!(took >= Duration::from_millis(290), "fired after {took:?}");
    }

    #[tokio::test]
    async fn a_kept_timer_moved_earlier_fires_at_its_new_deadline() {
        let mut timer = None;
        let waited = wake_after(Duration::from_millis(10));
        let out = within(Deadline::after(Duration::from_secs(30)), &mut timer, waited).await;
        assert!(out.is_ok());
        let started = Instant::now();
        let pending = std::future::pending::<()>();
        let out = within(
            Deadline::after(Duration::from_millis(30)),
            &mut timer,
            pending,
        )
        .await;
        assert!(out.is_err());
        assert!(started.elapsed() < Duration::from_secs(10));
    }

    #[test]
    fn a_timer_of_a_runtime_shut_down_is_replaced_not_polled() {
        let runtime = || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap()
        };
        let mut timer: Option<Timer> = None;
        let first = runtime();
        let out = first.block_on(within(
            Deadline::after(Duration::from_secs(30)),
            &mut timer,
            wake_after(Duration::from_millis(10)),
        ));
        assert!(out.is_ok());
        drop(first);
        // Polling the old timer would panic (its driver is shut down) or never fire.
        let second = runtime();
        let out = second.block_on(async {
            within(
                Deadline::after(Duration::from_millis(20)),
                &mut timer,
                std::future::pending::<()>(),
            )
            .await
        });
        assert!(out.is_err());
    }
}
