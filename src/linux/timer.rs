//! [`Timer`] and [`Interval`]: any number of timers on one timerfd.
//!
//! # Clock
//!
//! Deadlines are nanoseconds of `CLOCK_MONOTONIC`. On Linux,
//! [`std::time::Instant`] *is* `clock_gettime(CLOCK_MONOTONIC)` (the platform
//! table in its docs), so an `Instant` converts to a deadline through one
//! anchor pair read at start-up: the anchor's nanoseconds are read *after* its
//! `Instant`, so a converted deadline is never earlier than the instant, and
//! at most the anchor's read window (tens of nanoseconds) later.
//!
//! # Driver
//!
//! One process-wide driver: a [`Queue`] of deadlines and wakers behind a
//! mutex, and one timerfd armed (absolute time) at the earliest deadline.
//! `armed` records the deadline the timerfd was last set to:
//!
//! - registering a timer re-arms only when its deadline is earlier than
//!   `armed` (no syscall in the common case);
//! - cancelling never disarms: the timerfd may then fire for nothing, and
//!   the pass it triggers only re-arms;
//! - a pass (on the reactor thread, when the timerfd is readable) reads the
//!   timerfd, then repeatedly takes up to [`CHUNK`] expired wakers under the
//!   lock and wakes them outside it; the last round arms the next deadline.
//!
//! A timer is ready when the clock says its deadline passed, so it is never
//! early whatever the driver does; the driver only decides *when* the task
//! is woken to look.

use core::fmt;
use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll, Waker};
use std::format;
use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::{Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::{Duration, Instant};
use std::vec::Vec;

use super::sys;

mod queue;

use queue::{next_tick, Key, Queue};

/// `key` of a timer that holds no slot in the queue.
const NONE: Key = Key::MAX;

/// A deadline that never comes (`Duration::MAX` from now, say).
const NEVER: u64 = u64::MAX;

/// Wakers taken per lock during a pass: bounds how long an executor thread
/// that registers or drops a timer can wait for the lock, and lets the first
/// expired tasks run while later ones are still being collected.
const CHUNK: usize = 64;

/// A one-shot timer: a future that is ready once its deadline has passed.
///
/// Ready no earlier than the deadline, typically some tens of microseconds
/// after it (`CLOCK_MONOTONIC` timerfd, no rounding to a tick). All timers
/// of the process share one timerfd, so a timer costs memory, not a file
/// descriptor, and creating and dropping one makes no syscall unless it is
/// the earliest pending timer.
///
/// Works on any executor: the task is woken from the reactor thread.
/// Dropping a timer cancels it: its waker is released and never called
/// (unless the drop races with the expiry on another thread: a timer dropped
/// before its deadline is never woken). Polling again after it was ready
/// returns ready again.
///
/// ```rust
/// use pasts::linux::Timer;
/// use std::time::{Duration, Instant};
///
/// # fn main() -> std::io::Result<()> {
/// let start = Instant::now();
/// pasts::block_on(Timer::new(Duration::from_millis(5))?);
/// assert!(start.elapsed() >= Duration::from_millis(5));
/// # Ok(())
/// # }
/// ```
#[must_use = "futures do nothing unless you .await or poll them"]
pub struct Timer {
    driver: &'static Driver,
    /// `CLOCK_MONOTONIC` nanoseconds.
    deadline: u64,
    key: Key,
}

impl Timer {
    /// A timer that is ready once `duration` has passed from now.
    ///
    /// # Errors
    ///
    /// The first timer of the process starts the shared driver (a timerfd
    /// watched by the reactor); if that fails (out of file descriptors, say)
    /// the error says so and the next call tries again. Once started, this
    /// does not fail.
    ///
    /// ```rust
    /// use pasts::linux::Timer;
    /// use std::time::Duration;
    ///
    /// # fn main() -> std::io::Result<()> {
    /// pasts::block_on(async {
    ///     Timer::new(Duration::from_millis(1))?.await;
    ///     Ok(())
    /// })
    /// # }
    /// ```
    pub fn new(duration: Duration) -> io::Result<Self> {
        let driver = driver()?;
        // Zero: due since forever, so the first poll is ready without a
        // pass even while one is pending.
        let deadline = match nanos(duration) {
            0 => 0,
            d => now().saturating_add(d),
        };
        Ok(Self::with_deadline(driver, deadline))
    }

    /// A timer that is ready once `deadline` has passed (at once if it
    /// already has).
    ///
    /// # Errors
    ///
    /// As for [`Timer::new`]: only starting the shared driver can fail.
    ///
    /// ```rust
    /// use pasts::linux::Timer;
    /// use std::time::{Duration, Instant};
    ///
    /// # fn main() -> std::io::Result<()> {
    /// let deadline = Instant::now() + Duration::from_millis(2);
    /// pasts::block_on(Timer::at(deadline)?);
    /// assert!(Instant::now() >= deadline);
    /// # Ok(())
    /// # }
    /// ```
    pub fn at(deadline: Instant) -> io::Result<Self> {
        let driver = driver()?;
        Ok(Self::with_deadline(
            driver,
            driver.anchor.to_nanos(deadline),
        ))
    }

    fn with_deadline(driver: &'static Driver, deadline: u64) -> Self {
        Self {
            driver,
            deadline,
            key: NONE,
        }
    }
}

impl Future for Timer {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        this.driver
            .poll(&mut this.key, this.deadline, false, cx.waker())
    }
}

impl Drop for Timer {
    fn drop(&mut self) {
        self.driver.release(self.key);
    }
}

impl fmt::Debug for Timer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Timer")
            .field("deadline_ns", &self.deadline)
            .field("queued", &(self.key != NONE))
            .finish()
    }
}

/// A periodic timer: a future that is ready once per period, awaited again
/// and again through `&mut`.
///
/// The first tick is one period after [`Interval::new`]; tick *n* is due
/// *n* periods after it, however late the earlier ticks were delivered, so
/// the schedule does not drift.
///
/// **Missed ticks are skipped, keeping the phase.** When the interval is
/// polled after one or more whole periods went by since a tick was due (the
/// program was busy or suspended), it is ready once, and its next tick is the
/// first one of the original schedule that is still in the future. There is
/// no burst of catch-up ticks; count the time yourself
/// (`Instant::now()`) if you need to know how many periods passed.
///
/// Like [`Timer`] it shares the process-wide timerfd, works on any executor
/// and releases its slot when dropped.
///
/// ```rust
/// use pasts::linux::Interval;
/// use std::time::{Duration, Instant};
///
/// # fn main() -> std::io::Result<()> {
/// let start = Instant::now();
/// let mut interval = Interval::new(Duration::from_millis(2))?;
/// pasts::block_on(async {
///     for _ in 0..3 {
///         (&mut interval).await;
///     }
/// });
/// assert!(start.elapsed() >= Duration::from_millis(6));
/// # Ok(())
/// # }
/// ```
#[must_use = "futures do nothing unless you .await or poll them"]
pub struct Interval {
    driver: &'static Driver,
    /// The next tick, `CLOCK_MONOTONIC` nanoseconds.
    deadline: u64,
    period: u64,
    key: Key,
    /// `deadline` moved on since the queue slot was last scheduled.
    moved: bool,
}

impl Interval {
    /// An interval whose first tick is `period` from now.
    ///
    /// # Errors
    ///
    /// `InvalidInput` for a zero `period` (it would be ready at every poll,
    /// a busy loop); otherwise as for [`Timer::new`].
    ///
    /// ```rust
    /// use pasts::linux::Interval;
    /// use std::time::Duration;
    ///
    /// # fn main() -> std::io::Result<()> {
    /// let mut ticks = Interval::new(Duration::from_millis(1))?;
    /// pasts::block_on(&mut ticks);
    /// assert!(Interval::new(Duration::ZERO).is_err());
    /// # Ok(())
    /// # }
    /// ```
    pub fn new(period: Duration) -> io::Result<Self> {
        if period.is_zero() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "pasts::linux::Interval::new: the period must be longer than zero",
            ));
        }
        let driver = driver()?;
        let period = nanos(period);
        Ok(Self {
            driver,
            deadline: now().saturating_add(period),
            period,
            key: NONE,
            moved: false,
        })
    }
}

impl Future for Interval {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        let poll = this
            .driver
            .poll(&mut this.key, this.deadline, this.moved, cx.waker());
        if poll.is_pending() {
            this.moved = false;
            return Poll::Pending;
        }
        this.deadline = next_tick(this.deadline, this.period, now());
        this.moved = this.key != NONE;
        Poll::Ready(())
    }
}

impl Drop for Interval {
    fn drop(&mut self) {
        self.driver.release(self.key);
    }
}

impl fmt::Debug for Interval {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Interval")
            .field("next_tick_ns", &self.deadline)
            .field("period_ns", &self.period)
            .field("queued", &(self.key != NONE))
            .finish()
    }
}

/// The queue and what the timerfd was last armed to, under one lock.
struct State {
    queue: Queue,
    /// The deadline the timerfd was last armed to, [`NEVER`] if none: the
    /// fd becomes readable at or before it, so registering a later deadline
    /// needs no syscall (the pass then will arm the next one).
    armed: u64,
}

/// The process-wide timer driver (see the module docs).
struct Driver {
    state: Mutex<State>,
    timerfd: OwnedFd,
    anchor: Anchor,
}

static DRIVER: OnceLock<Driver> = OnceLock::new();

/// The driver, started on first use.
#[inline]
fn driver() -> io::Result<&'static Driver> {
    match DRIVER.get() {
        Some(driver) => Ok(driver),
        None => start(),
    }
}

/// Create the timerfd and hook it to the reactor; on failure nothing is
/// kept, so the next timer tries again.
#[cold]
fn start() -> io::Result<&'static Driver> {
    static STARTING: Mutex<()> = Mutex::new(());
    let _one_at_a_time = STARTING.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(driver) = DRIVER.get() {
        return Ok(driver);
    }
    let context = |what: &str, e: io::Error| {
        io::Error::new(
            e.kind(),
            format!("pasts::linux::Timer: {what} for the shared timer driver failed: {e}"),
        )
    };
    let timerfd = sys::timerfd(0).map_err(|e| context("timerfd_create", e))?;
    let fd = timerfd.as_raw_fd();
    // TEMPORARY: a thread of our own until the reactor hook lands.
    std::thread::Builder::new()
        .name("pasts-timer".into())
        .spawn(move || {
            let mut wakers = Vec::new();
            loop {
                if sys::read_u64(fd).is_err() {
                    continue;
                }
                if let Some(driver) = DRIVER.get() {
                    driver.pass(&mut wakers);
                }
            }
        })
        .map_err(|e| context("spawning the timer thread", e))?;
    Ok(DRIVER.get_or_init(|| Driver {
        state: Mutex::new(State {
            queue: Queue::new(),
            armed: NEVER,
        }),
        timerfd,
        anchor: Anchor::new(),
    }))
}

impl Driver {
    fn lock(&self) -> MutexGuard<'_, State> {
        // The queue is consistent between any two statements that may
        // panic (a waker's `clone`), so a poisoned lock is still usable.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Ready once `deadline` has passed; until then keep the slot `key`
    /// (made on the first call) queued for `deadline` with `waker`.
    /// `moved`: the slot exists but was scheduled for an older deadline.
    ///
    /// The clock is read only when the timerfd must be armed earlier (a
    /// syscall anyway): a deadline at or after `armed` will be looked at by
    /// the pass that `armed` triggers, and a queued one is ready when that
    /// pass fired it. So a timer is never ready early, and creating,
    /// polling and dropping one that is not the earliest costs one clock read
    /// (in the constructor) and two short critical sections.
    fn poll(&self, key: &mut Key, deadline: u64, moved: bool, waker: &Waker) -> Poll<()> {
        let mut state = self.lock();
        if deadline < state.armed {
            if now() >= deadline {
                return Poll::Ready(());
            }
            // `deadline` is in the future, so not 0 (which would disarm).
            if self.arm(deadline).is_err() {
                // Arming fails only for an invalid time, which `arm` never
                // builds; should it fail anyway, poll again soon (and retry)
                // rather than sleep forever.
                drop(state);
                waker.wake_by_ref();
                return Poll::Pending;
            }
            state.armed = deadline;
        }
        if *key == NONE {
            *key = state.queue.insert(deadline, waker);
        } else {
            if moved {
                state.queue.reschedule(*key, deadline);
            }
            if !state.queue.set_waker(*key, waker) {
                return Poll::Ready(()); // fired: the pass saw the deadline pass
            }
        }
        Poll::Pending
    }

    /// Give back a timer's slot (its waker is dropped, never called).
    fn release(&self, key: Key) {
        if key != NONE {
            let waker = self.lock().queue.remove(key);
            drop(waker); // outside the lock: a waker's drop may run any code
        }
    }

    /// Set the timerfd to fire at `deadline` (absolute).
    fn arm(&self, deadline: u64) -> io::Result<()> {
        sys::timerfd_set_abs(
            self.timerfd.as_raw_fd(),
            sys::Timespec {
                tv_sec: (deadline / 1_000_000_000) as i64,
                tv_nsec: (deadline % 1_000_000_000) as i64,
            },
        )
    }

    /// One pass of the reactor: the timerfd is readable. `wakers` is the
    /// reactor's buffer, empty between passes.
    fn pass(&self, wakers: &mut Vec<Waker>) {
        loop {
            let mut state = self.lock();
            let fired = state.queue.expire(now(), CHUNK, wakers);
            let last = fired < CHUNK;
            if last {
                state.armed = NEVER;
                if let Some(next) = state.queue.next_deadline() {
                    if next != NEVER && self.arm(next).is_ok() {
                        state.armed = next;
                    }
                    // On the (impossible, see `register`) failure `armed`
                    // stays NEVER, so the next registration arms again.
                }
            }
            drop(state);
            wakers.drain(..).for_each(Waker::wake);
            if last {
                return;
            }
        }
    }
}

/// An `Instant` and the `CLOCK_MONOTONIC` reading just after it.
struct Anchor {
    instant: Instant,
    nanos: u64,
}

impl Anchor {
    /// Read the pair a few times and keep the tightest (a preemption
    /// between the two reads makes the conversion later, never earlier).
    fn new() -> Self {
        let mut best = (u64::MAX, Instant::now(), 0);
        for _ in 0..3 {
            let before = now();
            let instant = Instant::now();
            let after = now();
            if after - before < best.0 {
                best = (after - before, instant, after);
            }
        }
        Self {
            instant: best.1,
            nanos: best.2,
        }
    }

    /// `CLOCK_MONOTONIC` nanoseconds at or just after `t` (0 if before the
    /// clock's start, [`NEVER`] if past what `u64` holds).
    fn to_nanos(&self, t: Instant) -> u64 {
        match t.checked_duration_since(self.instant) {
            Some(later) => self.nanos.saturating_add(nanos(later)),
            None => self.nanos.saturating_sub(nanos(self.instant - t)),
        }
    }
}

/// `CLOCK_MONOTONIC` now, in nanoseconds.
#[inline]
fn now() -> u64 {
    let ts = sys::monotonic_now();
    // The clock counts from boot: never negative, and u64 nanoseconds last
    // 584 years.
    (ts.tv_sec as u64)
        .wrapping_mul(1_000_000_000)
        .wrapping_add(ts.tv_nsec as u64)
}

/// A duration in nanoseconds, saturating at [`NEVER`].
#[inline]
fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(NEVER)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg_attr(miri, ignore = "FFI: clock_gettime")]
    fn instant_is_clock_monotonic() {
        // Both clocks advance together (same clock): the difference of two
        // Instants equals the difference of the raw readings taken between
        // them, up to the reads' own cost.
        let anchor = Anchor::new();
        std::thread::sleep(Duration::from_millis(20));
        let before = now();
        let instant = Instant::now();
        let after = now();
        let converted = anchor.to_nanos(instant);
        assert!(converted >= before, "{converted} < {before}");
        assert!(
            converted <= after + 1_000_000,
            "{converted} > {after} + 1 ms"
        );
    }

    #[test]
    #[cfg_attr(miri, ignore = "FFI: clock_gettime")]
    fn conversion_is_never_early() {
        let anchor = Anchor::new();
        for back in [0, 1, 1_000, 1_000_000_000] {
            let back = Duration::from_nanos(back);
            let before = now();
            let t = Instant::now();
            let after = now();
            let converted = anchor.to_nanos(t - back);
            let back = nanos(back);
            // `t` lies between `before` and `after`: so must its conversion,
            // the same distance back, up to the anchor's read window.
            assert!(
                converted >= before - back,
                "early: {converted} < {before} - {back}"
            );
            assert!(converted <= after - back + 1_000_000);
        }
        let far = Instant::now() + Duration::from_secs(3600);
        assert!(anchor.to_nanos(far) >= now() + 3_599_000_000_000);
    }
}
