//! [`Timer`] and [`Interval`]: any number of timers on one timerfd.
//!
//! # Clock
//!
//! On Linux, [`std::time::Instant`] *is* `clock_gettime(CLOCK_MONOTONIC)`
//! (the platform table in its docs; `instant_is_clock_monotonic` below checks
//! it), the clock of the timerfd. Deadlines are nanoseconds since the
//! driver's `epoch`, an `Instant`, so converting an `Instant` or comparing
//! with `Instant::now()` is exact. Only arming the timerfd needs the raw
//! clock: `epoch_mono` was read just *after* `epoch`, so the absolute time
//! armed is never earlier than the deadline (and later by at most that
//! read's window, tens of nanoseconds).
//!
//! # Driver
//!
//! One process-wide driver: a [`Queue`] of deadlines and wakers behind the
//! `state` mutex, and one timerfd (a [`Device`] on the reactor) armed, in
//! absolute time, at the earliest deadline. `armed` records the deadline by
//! which the timerfd is readable:
//!
//! - registering a timer re-arms only when its deadline is earlier than
//!   `armed` by more than [`SLACK`] (no syscall in the common case);
//! - cancelling never disarms: the timerfd may then fire for nothing, and
//!   the pass it triggers only re-arms;
//! - a pass runs inline on the thread that dispatches the reactor's events
//!   when the timerfd is readable (the `Device`'s waker is the driver's
//!   own): it repeatedly fires up to [`CHUNK`] expired timers under the
//!   lock and wakes them outside it; its last round arms the timerfd for
//!   the next deadline ([`Driver::rearm`]), on the reactor thread at least
//!   [`SLACK`] ahead, more after a pass that fired many ([`COALESCE_MAX`]),
//!   and with nothing queued only reads the expiry, so an idle program has
//!   no timer wake-ups;
//! - a `block_on` thread waits for a deadline at most [`SLACK`] ahead
//!   without arming: the pass leaves the expiry unread, so the next pass
//!   runs at once, polling the clock (busy) instead of sleeping until a
//!   timer interrupt.
//!
//! A timer's life (`gen` is its slot's generation, see [`Ticket`]):
//!
//! ```text
//!   new --first poll, under the lock--> QUEUED (ticket: slot key + gen)
//!   QUEUED --pass, now >= deadline------> FIRED: slot freed, gen + 1, woken
//!   QUEUED --drop, under the lock-------> slot freed, gen + 1, waker dropped
//!   FIRED  --poll------------------------> Ready (gen differs: no lock)
//!   FIRED  --drop------------------------> nothing to do (no lock)
//! ```
//!
//! A timer is ready only once the clock (its own poll's, or the pass's that
//! fired it) says its deadline passed, so it is never early whatever the
//! timerfd does; the driver only decides *when* the task is woken to look.
//!
//! Locks: `reactor` (taken by the dispatching thread only, and once by
//! `start`) before `state`, never the other way. `state` is never held
//! while a user's waker is woken or dropped (only cloned); wakes happen
//! under `reactor`, which nothing a waker may call takes.

use core::cell::Cell;
use core::fmt;
use core::future::Future;
use core::pin::Pin;
use core::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use core::task::{Context, Poll, Waker};
use std::boxed::Box;
use std::format;
use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};
use std::task::Wake;
use std::time::{Duration, Instant};
use std::vec::Vec;

use super::reactor::Registration;
use super::sys;
use super::{Device, Watch};
use crate::thread::in_block_on;

mod queue;

use queue::{next_tick, Key, Queue};

/// A deadline that never comes (`Duration::MAX` from now, say).
const NEVER: u64 = u64::MAX;

/// Timer slack, in nanoseconds: how close a deadline must be for the
/// timerfd not to be armed for it. A registration re-arms only for a
/// deadline more than `SLACK` before `armed` (the pass that `armed`
/// triggers fires it, up to `SLACK` late); a pass on a `block_on` thread
/// waits for a deadline at most `SLACK` ahead by running passes back to
/// back ([`Driver::rearm`]), and one on the reactor thread arms no sooner
/// than `SLACK` ahead. An isolated timer is armed for its exact deadline.
const SLACK: u64 = 25_000;

/// How far `CLOCK_MONOTONIC_COARSE` may be behind `CLOCK_MONOTONIC`, in
/// nanoseconds: a tick (10 ms at the lowest `HZ`, 100), twice over.
const COARSE_LAG: u64 = 20_000_000;

/// On the reactor thread, a pass that fired `n` timers arms no sooner than
/// `n` × [`SLACK`] after its clock reading, up to this. That thread wakes
/// tasks that run on other threads (another executor's, or a `block_on`
/// thread too busy to wait in `epoll_wait`): each pass there costs
/// cross-thread wake-ups and contends with those threads for the queue, so
/// a dense stream of deadlines (100,000 over 200 ms) is coalesced into
/// fewer, larger passes. A pass that fired one timer keeps the [`SLACK`]
/// floor, and a timer registered after the pass, earlier than what it
/// armed, re-arms the timerfd as always (`timers_many` in the comparison
/// harness measures the effect).
const COALESCE_MAX: u64 = 250_000;

/// The arming floor of a reactor-thread pass that fired `fired` timers.
#[inline]
fn coalesce(fired: u64) -> u64 {
    fired.saturating_mul(SLACK).clamp(SLACK, COALESCE_MAX)
}

/// Wakers taken per lock during a pass: bounds how long an executor thread
/// that registers or drops a timer can wait for the lock, and lets the first
/// expired tasks run while later ones are still being collected.
const CHUNK: usize = 16;

/// A one-shot timer: a future that is ready once its deadline has passed.
///
/// Ready no earlier than the deadline, typically some tens of microseconds
/// after it (`CLOCK_MONOTONIC` timerfd, no rounding to a tick), a few when
/// another deadline was due less than 25 µs before it: a `block_on` thread
/// then waits by polling the clock (busy for those microseconds) rather
/// than sleeping. Up to 250 µs late when a dense stream of deadlines is
/// dispatched by the reactor thread, for tasks on other threads. All timers
/// of the process share one timerfd, so a timer costs memory, not a file
/// descriptor, and creating and dropping one makes no syscall unless it is
/// the earliest pending timer.
///
/// Works on any executor. While one `pasts::block_on` thread alone waits
/// on timers, the timerfd is in its epoll set, so it is woken with no hop.
/// Once timers are awaited on a second thread, or by another executor, the
/// reactor thread keeps the timerfd and wakes every task (one hop), so no
/// busy thread can hold up another's timers.
///
/// Dropping a timer cancels it: its waker is released and never called
/// (unless the drop races with the expiry on another thread: a timer dropped
/// before its deadline is never woken). Polling it again after it was ready
/// is harmless: it is ready again.
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
    /// Nanoseconds since the driver's epoch.
    deadline: u64,
    ticket: Option<Ticket>,
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
        // Zero: due since the epoch, so the first poll is ready at once,
        // without the lock.
        let deadline = match nanos(duration) {
            0 => 0,
            d => driver.now().saturating_add(d),
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
        Ok(Self::with_deadline(driver, driver.since_epoch(deadline)))
    }

    /// Move the deadline to `deadline`, earlier or later, whether the timer
    /// is pending, ready or not polled yet. A pending timer keeps the waker
    /// it was polled with: that task is woken at the new deadline without
    /// polling again (a timeout pushed back on every packet).
    ///
    /// ```rust
    /// use pasts::linux::Timer;
    /// use std::time::{Duration, Instant};
    ///
    /// # fn main() -> std::io::Result<()> {
    /// let start = Instant::now();
    /// let mut timeout = Timer::new(Duration::from_secs(60))?;
    /// timeout.reset(start + Duration::from_millis(2));
    /// pasts::block_on(&mut timeout);
    /// assert!(start.elapsed() >= Duration::from_millis(2));
    /// # Ok(())
    /// # }
    /// ```
    pub fn reset(&mut self, deadline: Instant) {
        self.deadline = self.driver.since_epoch(deadline);
        self.driver.reschedule(&mut self.ticket, self.deadline);
    }

    fn with_deadline(driver: &'static Driver, deadline: u64) -> Self {
        Self {
            driver,
            deadline,
            ticket: None,
        }
    }

    /// Poll for `deadline` (see [`Driver::poll`] for `moved`).
    #[inline]
    fn poll_at(&mut self, moved: bool, waker: &Waker) -> Poll<()> {
        self.driver
            .poll(&mut self.ticket, self.deadline, moved, waker)
    }
}

impl Future for Timer {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        self.get_mut().poll_at(false, cx.waker())
    }
}

impl Drop for Timer {
    fn drop(&mut self) {
        self.driver.release(self.ticket.take());
    }
}

impl fmt::Debug for Timer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Timer")
            .field("deadline_ns", &self.deadline)
            .field("queued", &self.ticket.as_ref().is_some_and(|t| !t.fired()))
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
/// program was busy), it is ready once, and its next tick is the first one
/// of the original schedule that is still in the future. There is no burst
/// of catch-up ticks; compare [`Instant::now()`](Instant::now) with the start
/// if you need to know how many periods passed. Like `Instant`, the clock
/// (`CLOCK_MONOTONIC`) stands still while the system is suspended.
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
    /// The next tick.
    next: Timer,
    period: u64,
    /// `next.deadline` moved on since its slot was last scheduled.
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
            next: Timer::with_deadline(driver, driver.now().saturating_add(period)),
            period,
            moved: false,
        })
    }
}

impl Interval {
    /// An interval whose first tick is at `start` (at once if it has
    /// passed), then one every `period`.
    ///
    /// # Errors
    ///
    /// As for [`Interval::new`].
    ///
    /// ```rust
    /// use pasts::linux::Interval;
    /// use std::time::{Duration, Instant};
    ///
    /// # fn main() -> std::io::Result<()> {
    /// let start = Instant::now();
    /// let mut ticks = Interval::at(start, Duration::from_millis(2))?;
    /// pasts::block_on(&mut ticks); // at once: `start` has passed
    /// pasts::block_on(&mut ticks);
    /// assert!(start.elapsed() >= Duration::from_millis(2));
    /// # Ok(())
    /// # }
    /// ```
    pub fn at(start: Instant, period: Duration) -> io::Result<Self> {
        let mut interval = Self::new(period)?;
        let next = &mut interval.next;
        next.deadline = next.driver.since_epoch(start);
        Ok(interval)
    }
}

impl Future for Interval {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        if this.next.poll_at(this.moved, cx.waker()).is_pending() {
            this.moved = false;
            return Poll::Pending;
        }
        let next = &mut this.next;
        next.deadline = next_tick(next.deadline, this.period, next.driver.now());
        // A slot still queued for the tick just delivered must move on.
        this.moved = next.ticket.is_some();
        Poll::Ready(())
    }
}

impl fmt::Debug for Interval {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Interval")
            .field("next", &self.next)
            .field("period_ns", &self.period)
            .finish()
    }
}

/// The queue and what the timerfd was last armed to, under one lock.
struct State {
    queue: Queue,
    /// The deadline the timerfd was last armed to, [`NEVER`] if none: the
    /// fd becomes readable at or before it (or is readable already: a pass
    /// left its expiry unread), so registering a later deadline needs no
    /// syscall (the pass then will arm the next one).
    armed: u64,
    /// The generation of each slot, [`PAGE`] slots a page.
    gens: Vec<&'static [AtomicU64]>,
}

/// Slots per page of generations. Pages are leaked: the driver lives for the
/// whole process and a ticket may read its page at any time without the
/// lock. So the driver keeps 8 bytes per slot at the peak number of timers.
const PAGE: usize = 512;

/// The generation cell of slot `key` (its page must exist).
#[inline]
fn generation(gens: &[&'static [AtomicU64]], key: Key) -> &'static AtomicU64 {
    &gens[key / PAGE][key % PAGE]
}

/// A timer's claim on a queue slot, valid while the slot's generation is
/// still `gen`. A slot's generation grows when the slot is freed, under the
/// lock: by a pass that fired it (`Release`, before its waker is called) or
/// by the ticket's own `release`. So a ticket whose generation moved on
/// has fired, and its holder learns that without the lock.
#[derive(Debug)]
struct Ticket {
    key: Key,
    gen: u64,
    cell: &'static AtomicU64,
}

impl Ticket {
    /// Whether a pass fired (and freed) the slot: the deadline passed.
    #[inline]
    fn fired(&self) -> bool {
        self.cell.load(Ordering::Acquire) != self.gen
    }
}

/// What only the thread dispatching the timerfd's event touches (and
/// `start`, once).
struct ReactorSide {
    /// The timerfd on the reactor; polled with `waker`.
    device: Device,
    /// Wakes [`OnReadable`]: the driver's own waker for `device`.
    waker: Waker,
    /// Expired wakers of the current pass; empty between passes.
    expired: Vec<Waker>,
}

/// The process-wide timer driver (see the module docs).
struct Driver {
    state: Mutex<State>,
    reactor: Mutex<ReactorSide>,
    /// The timerfd's registration (`None`: epoll refused it, never the case).
    registration: Option<Arc<Registration>>,
    /// `block_on` threads that polled a timer, counted up to 2 (see
    /// [`Driver::follow`]).
    waiters: AtomicUsize,
    /// The timerfd stays in the reactor thread's epoll set.
    shared: AtomicBool,
    /// A second fd for the timerfd (same open file), to arm and read it
    /// without the `reactor` lock.
    timerfd: OwnedFd,
    /// Deadlines count nanoseconds from here.
    epoch: Instant,
    /// `CLOCK_MONOTONIC` nanoseconds read just after `epoch`.
    epoch_mono: u64,
}

static DRIVER: OnceLock<Driver> = OnceLock::new();

std::thread_local! {
    /// This thread polled a timer inside `block_on`.
    static WAITED: Cell<bool> = const { Cell::new(false) };
}

/// The driver, started on first use.
#[inline]
fn driver() -> io::Result<&'static Driver> {
    match DRIVER.get() {
        Some(driver) => Ok(driver),
        None => start(),
    }
}

/// Create the timerfd and put it on the reactor; on failure nothing is
/// kept, so the next timer tries again.
#[cold]
fn start() -> io::Result<&'static Driver> {
    static STARTING: Mutex<()> = Mutex::new(());
    let _one_at_a_time = STARTING.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(driver) = DRIVER.get() {
        return Ok(driver);
    }
    let context = |e: io::Error| {
        io::Error::new(
            e.kind(),
            format!("pasts::linux::Timer: starting the shared timer driver: {e}"),
        )
    };
    let (epoch, epoch_mono) = epoch().map_err(context)?;
    let timerfd = sys::timerfd_create().map_err(context)?;
    let second = timerfd.try_clone().map_err(context)?;
    let device = Device::new(timerfd, Watch::INPUT).map_err(context)?;
    let registration = device.registration().cloned();
    let driver = DRIVER.get_or_init(|| Driver {
        state: Mutex::new(State {
            queue: Queue::new(),
            armed: NEVER,
            gens: Vec::new(),
        }),
        reactor: Mutex::new(ReactorSide {
            device,
            waker: Waker::from(Arc::new(OnReadable)),
            expired: Vec::new(),
        }),
        registration,
        waiters: AtomicUsize::new(0),
        shared: AtomicBool::new(false),
        timerfd: second,
        epoch,
        epoch_mono,
    });
    // Register the driver's waker with the reactor.
    driver.on_readable();
    Ok(driver)
}

/// An `Instant` and the `CLOCK_MONOTONIC` nanoseconds read just after it:
/// the tightest of a few tries (a preemption between the two reads would
/// make every armed time that much later, never earlier).
fn epoch() -> io::Result<(Instant, u64)> {
    let sample = || -> io::Result<(u64, Instant, u64)> {
        let before = mono_nanos()?;
        let instant = Instant::now();
        let after = mono_nanos()?;
        Ok((after.saturating_sub(before), instant, after))
    };
    let mut best = sample()?;
    for _ in 0..2 {
        let next = sample()?;
        if next.0 < best.0 {
            best = next;
        }
    }
    Ok((best.1, best.2))
}

/// Raw `CLOCK_MONOTONIC`, in nanoseconds (u64 nanoseconds last 584 years).
fn mono_nanos() -> io::Result<u64> {
    let ts = sys::clock_gettime(sys::CLOCK_MONOTONIC)?;
    let secs = u64::try_from(ts.tv_sec).unwrap_or(0);
    let subsec = u64::try_from(ts.tv_nsec).unwrap_or(0);
    Ok(secs.saturating_mul(1_000_000_000).saturating_add(subsec))
}

/// The driver's waker for its `Device`: woken when the timerfd is readable,
/// on the thread that dispatches the reactor's events (the reactor thread,
/// or a `pasts::block_on` thread waiting in `epoll_wait`).
struct OnReadable;

impl Wake for OnReadable {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        if let Some(driver) = DRIVER.get() {
            driver.on_readable();
        }
    }
}

impl Driver {
    fn lock(&self) -> MutexGuard<'_, State> {
        // The queue is consistent between any two statements that may
        // panic (a waker's `clone`), so a poisoned lock is still usable.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Now, in nanoseconds since the epoch.
    #[inline]
    fn now(&self) -> u64 {
        self.since_epoch(Instant::now())
    }

    /// `true` if `deadline` is surely still ahead by the coarse clock
    /// (cheaper to read than the precise one), which is behind by at most a
    /// tick: [`COARSE_LAG`] bounds it. Were it ever further behind, a
    /// deadline just passed would wait for the next pass instead of being
    /// ready at once: later, never early.
    fn surely_ahead(&self, deadline: u64) -> bool {
        sys::clock_gettime(sys::CLOCK_MONOTONIC_COARSE).is_ok_and(|now| {
            nanos(now.to_duration()).saturating_add(COARSE_LAG)
                < self.epoch_mono.saturating_add(deadline)
        })
    }

    /// `t` in nanoseconds since the epoch (0 if before it).
    #[inline]
    fn since_epoch(&self, t: Instant) -> u64 {
        nanos(t.saturating_duration_since(self.epoch))
    }

    /// Ready once `deadline` has passed; until then keep a slot (taken on
    /// the first call, held by `ticket`) queued for `deadline` with `waker`.
    /// `moved`: the ticket's slot was queued for an older deadline (an
    /// interval's previous tick), so its firing does not make this one due.
    ///
    /// The clock is read on the first call (unless the coarse clock shows
    /// the deadline is surely ahead), so a deadline that has passed is
    /// ready at once (even while the pass that would fire it is late: a
    /// busy thread, or `armed` left due, see [`Driver::rearm`]), and when
    /// the timerfd must be armed earlier (a syscall anyway). Otherwise a
    /// deadline no more than [`SLACK`] before `armed` will be looked at by
    /// the pass that `armed` triggers, and a queued one is ready once a pass
    /// fired it, which the ticket tells without the lock. So creating,
    /// polling and dropping a timer that is not the earliest costs a clock
    /// read or two and two short critical sections; polling and dropping a
    /// fired one costs none.
    fn poll(
        &self,
        ticket: &mut Option<Ticket>,
        deadline: u64,
        moved: bool,
        waker: &Waker,
    ) -> Poll<()> {
        // 0: made from a zero duration or an instant before the epoch.
        if deadline == 0 || (take_fired(ticket) && !moved) {
            return Poll::Ready(());
        }
        // The first poll: a deadline that has passed needs no lock.
        if ticket.is_none() && !self.surely_ahead(deadline) && self.now() >= deadline {
            return Poll::Ready(());
        }
        let mut state = self.lock();
        // Again under the lock: a pass may have fired it meanwhile.
        if take_fired(ticket) && !moved {
            return Poll::Ready(());
        }
        let earlier = deadline.saturating_add(SLACK) < state.armed;
        if earlier && self.now() >= deadline {
            return Poll::Ready(());
        }
        if earlier {
            if self.arm(deadline).is_err() {
                // Arming a valid timerfd for a valid time does not fail;
                // should it anyway, poll again soon (and retry) rather than
                // sleep forever.
                drop(state);
                waker.wake_by_ref();
                return Poll::Pending;
            }
            state.armed = deadline;
        }
        let replaced = match ticket {
            Some(t) => {
                if moved {
                    state.queue.reschedule(t.key, deadline);
                }
                state.queue.set_waker(t.key, waker)
            }
            None => {
                let key = state.queue.insert(deadline, waker);
                while state.gens.len() <= key / PAGE {
                    let page: Box<[AtomicU64]> = (0..PAGE).map(|_| AtomicU64::new(0)).collect();
                    state.gens.push(Box::leak(page));
                }
                let cell = generation(&state.gens, key);
                *ticket = Some(Ticket {
                    key,
                    gen: cell.load(Ordering::Relaxed),
                    cell,
                });
                None
            }
        };
        drop(state);
        // Outside the lock: a waker's drop may run any code.
        drop(replaced);
        self.follow(earlier);
        Poll::Pending
    }

    /// A timer's deadline moved (see [`Timer::reset`]): a queued slot is
    /// rescheduled with its waker, and the timerfd armed earlier if needed.
    /// A slot that fired meanwhile woke its task, whose next poll queues the
    /// new deadline.
    fn reschedule(&self, ticket: &mut Option<Ticket>, deadline: u64) {
        let Some(t) = ticket else { return };
        if t.fired() {
            *ticket = None;
            return;
        }
        let mut state = self.lock();
        if t.fired() {
            *ticket = None;
            return;
        }
        state.queue.reschedule(t.key, deadline);
        // An earlier deadline (a passed one too: an absolute time in the
        // past expires at once) must arm the timerfd, as in `poll`.
        if deadline.saturating_add(SLACK) < state.armed {
            match self.arm(deadline) {
                Ok(()) => {
                    state.armed = deadline;
                    drop(state);
                    self.follow(true);
                }
                // Should arming fail (see `poll`), fire the slot at once:
                // its task polls and tries again.
                Err(_) => {
                    let waker = state.queue.remove(t.key);
                    retire(t.cell);
                    *ticket = None;
                    drop(state);
                    if let Some(waker) = waker {
                        waker.wake();
                    }
                }
            }
        }
    }

    /// Where the timerfd waits (see the reactor). While one `block_on`
    /// thread alone polls timers, it moves to that thread's epoll set when
    /// a poll `armed` it, so that thread is woken with no hop. Once timers
    /// are polled on a second thread, or by another executor, the reactor
    /// thread keeps it for good: a busy thread that held it could hold up
    /// the others' timers until the reactor thread took it over.
    fn follow(&self, armed: bool) {
        let Some(registration) = &self.registration else {
            return;
        };
        if self.shared.load(Ordering::Relaxed) {
            return;
        }
        // Polled before on this `block_on` thread, or the first to poll.
        let alone = in_block_on()
            && (WAITED.with(|waited| waited.replace(true))
                || self.waiters.fetch_add(1, Ordering::Relaxed) == 0);
        if !alone {
            self.shared.store(true, Ordering::Relaxed);
            registration.pin_shared();
        } else if armed {
            registration.follow_poller();
        }
    }

    /// Give back a timer's slot (its waker is dropped, never called).
    fn release(&self, ticket: Option<Ticket>) {
        let Some(ticket) = ticket else { return };
        if ticket.fired() {
            return; // the pass freed the slot
        }
        let mut state = self.lock();
        if ticket.fired() {
            return;
        }
        let waker = state.queue.remove(ticket.key);
        retire(ticket.cell);
        drop(state);
        drop(waker); // outside the lock: a waker's drop may run any code
    }

    /// Set the timerfd to fire at `deadline` (absolute `CLOCK_MONOTONIC`,
    /// never 0, which would disarm it: `epoch_mono` is past boot).
    fn arm(&self, deadline: u64) -> io::Result<()> {
        let at = self.epoch_mono.saturating_add(deadline);
        let new = sys::Itimerspec {
            it_interval: sys::Timespec::default(),
            it_value: sys::Timespec::from_duration(Duration::from_nanos(at)),
        };
        sys::timerfd_settime(self.timerfd.as_fd(), sys::TFD_TIMER_ABSTIME, &new).map(drop)
    }

    /// End a pass (under the lock, which serialises every `timerfd_settime`
    /// and this `read`): make the timerfd wake the dispatcher for `next`,
    /// the earliest queued deadline, after a pass that read the clock at
    /// `now` and fired `fired` timers. Returns the new `armed`.
    ///
    /// The expiry that started the pass is still unread, so the fd is
    /// readable: left so, the device re-checks it with an event already
    /// pending and the next pass runs at once, with no timer interrupt. That
    /// is how a `block_on` thread waits for a deadline at most [`SLACK`]
    /// ahead: arming the timerfd for it costs a hardware timer interrupt and
    /// a context switch, more than the wait; instead the thread runs a pass
    /// (its only syscalls the device's `epoll_ctl` and `epoll_wait`) after
    /// each turn of its executor until the deadline passes, busy for at most
    /// `SLACK` (`timers_many` in the comparison harness shows the effect).
    /// The reactor thread does not (see [`COALESCE_MAX`]).
    ///
    /// Otherwise `timerfd_settime` clears the expiry and arms the next one;
    /// with nothing queued a `read` only clears it, so an idle program has
    /// no timer wake-ups. Should arming fail (see `poll`), the fd stays
    /// readable and the next pass tries again.
    ///
    /// Why the fd is readable when this leaves it so: a pass starts when
    /// the reactor saw it readable (or the device could not re-check, and
    /// then passes repeat anyway), and only this `read` and a
    /// `timerfd_settime`, which arms an expiry to come, clear that. A
    /// registration arms only for a deadline more than [`SLACK`] before
    /// `armed`. While the fd is readable, `armed` has passed or is this
    /// `next`, so such a deadline has passed too and the registration is
    /// ready at once instead; or it is [`NEVER`] (nothing was queued, and
    /// the expiry was armed for a timer since dropped): the registration's
    /// expiry, at most `SLACK` after any deadline queued since, then stands
    /// in for the one it cleared.
    fn rearm(&self, next: u64, now: u64, fired: u64, on_reactor_thread: bool) -> u64 {
        if next == NEVER {
            // `WouldBlock` (nothing to read) is fine, and a timerfd has no
            // other read error.
            let _expirations = sys::read_u64(self.timerfd.as_fd());
            return NEVER;
        }
        let at = if on_reactor_thread {
            next.max(now.saturating_add(coalesce(fired)))
        } else if next <= now.saturating_add(SLACK) {
            return next; // left readable: the next pass runs at once
        } else {
            next
        };
        match self.arm(at) {
            Ok(()) => at,
            Err(_) => next, // still readable: the next pass tries again
        }
    }

    /// The timerfd is readable (or this is the first call, from `start`):
    /// run passes until the `Device` is pending again, which re-registers
    /// the driver's waker with the reactor.
    ///
    /// Leaving while the device is ready would leave nobody to watch the
    /// timerfd, so this loops for as long as timers keep expiring during the
    /// passes (real work); should the device be unable to re-check (it
    /// reports that as ready), the passes go on polling the clock instead
    /// of stopping the timers.
    fn on_readable(&self) {
        let mut reactor = self.reactor.lock().unwrap_or_else(PoisonError::into_inner);
        let reactor = &mut *reactor;
        loop {
            if reactor.device.poll_ready(&reactor.waker).is_pending() {
                return;
            }
            self.pass(&mut reactor.expired);
        }
    }

    /// Wake every expired timer, earliest first, [`CHUNK`] per lock, and arm
    /// the timerfd for the next deadline.
    fn pass(&self, wakers: &mut Vec<Waker>) {
        let on_reactor_thread = super::reactor::on_reactor_thread();
        // Timers this pass fired.
        let mut total: u64 = 0;
        loop {
            let mut state = self.lock();
            let now = self.now();
            let State { queue, gens, .. } = &mut *state;
            let fired = queue.expire(now, CHUNK, |key, waker| {
                retire(generation(gens, key));
                wakers.extend(waker);
            });
            let last = fired < CHUNK;
            total += fired as u64;
            if last {
                let next = state.queue.next_deadline().unwrap_or(NEVER);
                state.armed = self.rearm(next, now, total, on_reactor_thread);
            }
            drop(state);
            for waker in wakers.drain(..) {
                // A waker that panics (a bug in its executor, reported by
                // the panic hook) must not cost the other expired timers
                // their wake-up, nor leave the timerfd's device unpolled
                // (no timer would fire again): contained, as in the reactor.
                let _ = catch_unwind(AssertUnwindSafe(|| waker.wake()));
            }
            if last {
                return;
            }
        }
    }
}

/// If the ticket's slot fired, forget the ticket and say so.
#[inline]
fn take_fired(ticket: &mut Option<Ticket>) -> bool {
    let fired = ticket.as_ref().is_some_and(Ticket::fired);
    if fired {
        *ticket = None;
    }
    fired
}

/// Advance a freed slot's generation (under the state lock), ending the
/// ticket that held it.
#[inline]
fn retire(cell: &AtomicU64) {
    cell.store(
        cell.load(Ordering::Relaxed).wrapping_add(1),
        Ordering::Release,
    );
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
        let (epoch, epoch_mono) = epoch().unwrap();
        std::thread::sleep(Duration::from_millis(20));
        for back in [0, 1_000, 10_000_000] {
            let before = mono_nanos().unwrap();
            let instant = Instant::now();
            let after = mono_nanos().unwrap();
            // The mapping `arm` uses: the raw clock value it arms for an
            // instant `back` ns ago must lie within the raw readings taken
            // around it (same distance back), up to the epoch's read window.
            let t = instant - Duration::from_nanos(back);
            let mapped = epoch_mono + nanos(t.saturating_duration_since(epoch));
            assert!(
                mapped >= before - back,
                "early: {mapped} < {before} - {back}"
            );
            assert!(
                mapped <= after - back + 1_000_000,
                "{mapped} > {after} - {back} + 1 ms"
            );
        }
    }
}
