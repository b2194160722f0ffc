//! The process-wide epoll reactor behind [`Device`](super::Device).
//!
//! One epoll set holds every registered fd, edge-triggered, with the
//! registration's *token* as epoll data: slab index (low 32 bits) and the
//! slot's generation (high 32 bits), never a pointer. Whoever dispatches an
//! event looks the token up in the slab under its lock; a slot freed by a
//! dropped device has a new generation, so a late event for it is ignored,
//! and a registration the dispatcher already holds is kept alive by its
//! `Arc`. No use-after-free is possible, and dropping a device frees its
//! slot for reuse at once.
//!
//! # Who waits in `epoll_wait`: the role
//!
//! One thread at a time, the *owner*, waits in `epoll_wait` and dispatches
//! events. A thread in `pasts::block_on` with nothing to do takes the role
//! if it is free ([`Reactor::sleep`]), once its tasks ever waited on a
//! device or timer (else it has no event to collect and sleeps plainly,
//! leaving the role to those that do): it then waits for its own wake-up
//! and for device events at once, so a device it awaits wakes it with no
//! thread hop. Its interrupt is told (state HOOKED) to end the `epoll_wait`
//! with an eventfd write. It gives the role back as soon as it wakes,
//! before it polls its future, so a future that blocks cannot starve
//! others. A `block_on` thread that finds the role taken by another
//! `block_on` thread sleeps on its own interrupt: the owner dispatches its
//! events, and when the owner wakes to run its future instead, the reactor
//! thread takes the role over (below). The owner does not hand the role to
//! a sleeping thread as it wakes: that wake-up would be spent whenever the
//! owner sleeps again soon (a ping-pong between two threads), a context
//! switch per message.
//!
//! The reactor thread (`pasts-reactor`, started with the first device) is
//! for everyone else: other executors (tokio, futures, smol), and events
//! nobody collects because the `block_on` threads are busy or gone. It
//! takes the role once it has stayed free for a *handover* time, so a
//! `block_on` thread that sleeps again sooner keeps it, and at once when a
//! thread that ran `block_on` ends while another sleeps ([`Park::leave`]).
//! While a `block_on` thread owns the role it looks again every *check*,
//! and after a while it stops looking until that thread's release wakes
//! it. How closely it watches depends on who may be waiting ([`Cadence`]):
//! [`FAST`] (check every 500 µs, take after 250 µs free) once a task of
//! another executor waited on a device or timer, or while a `block_on`
//! thread sleeps under another's role, so their events wait at most about
//! 500 µs while the owner runs;
//! [`SLOW`] (10 ms, 20 ms) otherwise: every waiting task then runs on the
//! `block_on` thread that collects its events as it sleeps, and a
//! `block_on` loop of short waits does not wake the reactor thread
//! thousands of times a second.
//!
//! The reactor thread keeps the role until a `block_on` thread wants to
//! sleep: that one counts itself in `waiting`, writes the eventfd and waits
//! (hooked, so its own wake-up ends the wait too) until the reactor thread
//! gives the role back; then it takes the role without polling its future.
//!
//! ```text
//!  owner:  FREE --block_on sleeps-----------------> BLOCK_ON --wakes--> FREE
//!          FREE --free for the handover time------> THREAD
//!               (or a block_on thread ended)
//!          THREAD --block_on sleeps (eventfd)------> FREE --> BLOCK_ON
//! ```
use core::cell::Cell;
use core::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use core::task::Waker;
use core::time::Duration;
use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::Instant;
use std::vec::Vec;

use super::sys;
use crate::thread::{in_block_on, install_park, Park};
use crate::{Interrupt, ThreadInterrupt};

/// The token of the reactor's own eventfd (no slab index is `u32::MAX`).
const NOTIFY: u64 = u64::MAX;

// A registration's readiness. The fd is in epoll once, edge-triggered, for
// the directions of its `Watch` (`interest`); `read_with`/`write_with` add
// the other one the first time they wait for it (one `EPOLL_CTL_MOD`, which
// also reports a readiness the fd already has). Each event reports what
// the fd is ready for after something happened on it. Under the registration's lock, `ready`
// holds the directions (`READ`, `WRITE`) reported and not cleared since,
// and every event bumps `tick`. The device polls (one task at a time: it
// takes `&mut`); the dispatcher fires:
//
//   fire(events):  ready |= events' directions, tick += 1, wake the waker
//                  if it waits for one of them (`wants`)
//   poll_io(want, seen):  an I/O call returned WouldBlock after the device
//                  read `tick == seen`: clear `want` unless tick moved
//                  since (an event came during the call); then Ready if
//                  `want` is set, else store the waker, Pending
//   poll_level(want):  Ready (consuming it) if `want` is set; else store the
//                  waker and `EPOLL_CTL_MOD`, which reports the fd's present
//                  readiness as a new event: level-triggered
//
// No readiness is lost: a direction is cleared only when the I/O call said
// "not ready" after the last event (or when an await consumed it, and then
// the MOD re-checks), and the waker is stored before, so the next edge
// finds it.

/// The input direction (`EPOLLIN`, and hang-up or error).
pub(crate) const READ: u8 = 1;
/// The output direction (`EPOLLOUT`, and hang-up or error).
pub(crate) const WRITE: u8 = 2;

/// The epoll events that watch the directions `dirs`, edge-triggered.
pub(crate) fn events(dirs: u8) -> u32 {
    let read = if dirs & READ != 0 {
        sys::EPOLLIN | sys::EPOLLRDHUP
    } else {
        0
    };
    let write = if dirs & WRITE != 0 { sys::EPOLLOUT } else { 0 };
    read | write | sys::EPOLLET
}

/// What a device and the dispatcher share.
#[derive(Debug)]
pub(crate) struct Registration {
    /// Events so far; changed only under `inner`'s lock.
    tick: AtomicUsize,
    inner: Mutex<Inner>,
}

#[derive(Debug)]
struct Inner {
    /// The directions epoll watches.
    interest: u8,
    ready: u8,
    /// The directions the stored waker waits for.
    wants: u8,
    waker: Option<Waker>,
}

impl Registration {
    /// The event count, read before an I/O call (see `poll_io`).
    #[inline]
    pub(crate) fn tick(&self) -> usize {
        self.tick.load(Ordering::Acquire)
    }

    /// Ready if the fd was reported ready for a direction of `want`; else
    /// store `waker`. `seen`: the I/O call just returned `WouldBlock`, with
    /// [`tick`](Self::tick) read before it: then `want` is cleared first,
    /// unless an event came since. A direction epoll does not watch yet is
    /// added with `watch` (given the epoll events); if that fails, ready, so
    /// the caller's I/O meets the fd's error.
    pub(crate) fn poll_io(
        &self,
        want: u8,
        seen: Option<usize>,
        waker: &Waker,
        watch: impl FnOnce(u32) -> io::Result<()>,
    ) -> bool {
        let mut inner = lock(&self.inner);
        if seen == Some(self.tick.load(Ordering::Relaxed)) {
            inner.ready &= !want;
        }
        if inner.ready & want != 0 {
            return true;
        }
        if inner.interest & want != want {
            let interest = inner.interest | want;
            if watch(events(interest)).is_err() {
                return true;
            }
            inner.interest = interest;
        }
        inner.wants = want;
        let old = store(&mut inner.waker, waker);
        // The replaced waker is dropped after the lock: its drop is user
        // code, which must not run while the dispatcher may wait for it.
        drop(inner);
        drop(old);
        false
    }

    /// Ready if the fd was reported ready for a direction of `want` since
    /// that was last consumed (consuming it); else store `waker` and call
    /// `recheck` with the epoll events watched: an `EPOLL_CTL_MOD`, after
    /// which epoll reports a readiness the fd has now (unread data) as a new
    /// event, so the waker is woken through the reactor. If that fails,
    /// ready, so the caller's I/O meets the fd's error.
    pub(crate) fn poll_level(
        &self,
        want: u8,
        waker: &Waker,
        recheck: impl FnOnce(u32) -> io::Result<()>,
    ) -> bool {
        let mut inner = lock(&self.inner);
        if inner.ready & want != 0 {
            inner.ready &= !want;
            return true;
        }
        inner.wants = want;
        let old = store(&mut inner.waker, waker);
        let interest = inner.interest;
        drop(inner);
        drop(old);
        recheck(events(interest)).is_err()
    }

    /// The dispatcher's side: record what the event reports and wake the
    /// stored waker if it waits for that.
    fn fire(&self, events: u32) {
        let mut inner = lock(&self.inner);
        let ready = directions(events);
        inner.ready |= ready;
        let tick = self.tick.load(Ordering::Relaxed);
        self.tick.store(tick.wrapping_add(1), Ordering::Release);
        let waker = match ready & inner.wants {
            0 => None,
            _ => inner.waker.take(),
        };
        drop(inner);
        if let Some(waker) = waker {
            waker.wake();
        }
    }
}

/// Store `waker` in `slot` unless it wakes the same task; returns the
/// replaced one, for the caller to drop after its lock.
fn store(slot: &mut Option<Waker>, waker: &Waker) -> Option<Waker> {
    match slot {
        Some(old) if old.will_wake(waker) => None,
        _ => slot.replace(waker.clone()),
    }
}

/// The directions epoll `events` make ready (hang-up and error: both).
fn directions(events: u32) -> u8 {
    let both = sys::EPOLLHUP | sys::EPOLLERR;
    let read = if events & (sys::EPOLLIN | sys::EPOLLRDHUP | sys::EPOLLPRI | both) != 0 {
        READ
    } else {
        0
    };
    let write = if events & (sys::EPOLLOUT | both) != 0 {
        WRITE
    } else {
        0
    };
    read | write
}

/// One slab slot: the generation counts how often the slot was freed.
#[derive(Debug)]
struct Slot {
    generation: u32,
    registration: Option<Arc<Registration>>,
}

/// Registrations by index, with a free list of indices to reuse.
#[derive(Debug, Default)]
struct Slab {
    slots: Vec<Slot>,
    free: Vec<u32>,
}

/// Who owns the role (see the module docs).
const FREE: u8 = 0;
const BLOCK_ON: u8 = 1;
const THREAD: u8 = 2;

/// How closely the reactor thread watches the role.
#[derive(Debug)]
struct Cadence {
    /// How often it looks while a `block_on` thread owns the role: a role
    /// given back waits at most about this long to be noticed.
    check: Duration,
    /// How long the role stays free before it takes it: a `block_on` thread
    /// that sleeps again sooner keeps it without a handover.
    handover: Duration,
    /// How long one `block_on` thread owns the role before it stops looking;
    /// that thread's release then wakes it.
    idle_after: Duration,
}

/// While a task of another executor ever waited on a device or timer, or a
/// `block_on` thread sleeps while another owns the role: their events have
/// no other collector while the owner runs.
const FAST: Cadence = Cadence {
    check: Duration::from_micros(500),
    handover: Duration::from_micros(250),
    idle_after: Duration::from_millis(5),
};

/// Otherwise: every waiting task runs on a `block_on` thread, which
/// collects its own events when it sleeps. The reactor thread only covers
/// what nobody foresaw (a waker handed to another thread) and sleeps
/// through a `block_on` loop of short waits (audio periods, frames).
const SLOW: Cadence = Cadence {
    check: Duration::from_millis(10),
    handover: Duration::from_millis(20),
    idle_after: Duration::from_millis(100),
};

/// The role and what the reactor thread watches.
#[derive(Debug)]
struct Role {
    owner: u8,
    /// When `owner` last changed.
    since: Instant,
    /// `block_on` threads waiting for the reactor thread to give the role
    /// back (on [`Reactor::handback`]).
    waiting: usize,
    /// The reactor thread sleeps without a timeout: a release must wake it.
    thread_idle: bool,
    /// The reactor thread watches with the [`FAST`] cadence: a release
    /// that leaves a sleeping `block_on` thread need not wake it.
    fast: bool,
    /// A thread that ran `block_on` ended while the role was free and a
    /// `block_on` thread slept: take the role at once (see
    /// [`Reactor::leave`]).
    urgent: bool,
}

impl Role {
    fn set(&mut self, owner: u8) {
        self.owner = owner;
        self.since = Instant::now();
        self.urgent = false;
    }
}

/// The epoll set, its slab, and the eventfd that interrupts `epoll_wait`.
#[derive(Debug)]
pub(crate) struct Reactor {
    epoll: OwnedFd,
    notify: OwnedFd,
    slab: Mutex<Slab>,
    role: Mutex<Role>,
    /// Where the reactor thread waits between checks.
    check: Condvar,
    /// Where `block_on` threads wait for the reactor thread to give the
    /// role back.
    handback: Condvar,
    thread_started: AtomicBool,
    /// A task of another executor waited on a device or timer (for good).
    foreign: AtomicBool,
    /// `block_on` threads asleep while another `block_on` thread owns the
    /// role.
    sleepers: AtomicUsize,
}

/// The reactor if a device was ever made (else `block_on` sleeps plainly).
static REACTOR: OnceLock<Reactor> = OnceLock::new();

std::thread_local! {
    /// Set on the reactor thread only.
    static ON_REACTOR_THREAD: Cell<bool> = const { Cell::new(false) };
    /// Set once a task of this thread's `block_on` waited on a device or
    /// timer.
    static WAITS_ON_REACTOR: Cell<bool> = const { Cell::new(false) };
}

/// Whether the caller is the reactor thread (dispatching for executors that
/// run elsewhere) rather than a `block_on` thread that owns the role.
pub(crate) fn on_reactor_thread() -> bool {
    ON_REACTOR_THREAD.with(Cell::get)
}

/// A task waits on a device or timer. Polled by `pasts::block_on`: that
/// thread now collects events when it sleeps. Polled by another executor:
/// the reactor thread keeps the fast cadence from now on, since that task
/// has no other collector. (An executor run inside a `block_on` future is
/// that thread's: it is served when the thread sleeps, and by the slow
/// cadence meanwhile.)
pub(crate) fn note_waiter() {
    if on_reactor_thread() {
        return;
    }
    if in_block_on() {
        WAITS_ON_REACTOR.with(|waits| waits.set(true));
        return;
    }
    let Some(reactor) = REACTOR.get() else {
        return;
    };
    if reactor.foreign.load(Ordering::Relaxed) {
        return;
    }
    let _role = lock(&reactor.role);
    reactor.foreign.store(true, Ordering::Relaxed);
    reactor.check.notify_one();
}

/// Lock a mutex whose data stays consistent across a panic (every critical
/// section here is a few plain moves).
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Reactor {
    /// The reactor, made on first use, with its thread running.
    pub(crate) fn get() -> io::Result<&'static Reactor> {
        let reactor = match REACTOR.get() {
            Some(reactor) => reactor,
            None => {
                let new = Reactor::new()?;
                // If another thread won the race, `new` is dropped (its fds
                // closed) and theirs is used.
                let reactor = REACTOR.get_or_init(move || new);
                install_park(reactor);
                reactor
            }
        };
        if !reactor.thread_started.load(Ordering::Acquire) {
            reactor.start_thread()?;
        }
        Ok(reactor)
    }

    fn new() -> io::Result<Self> {
        let reactor = Reactor {
            epoll: sys::epoll_create()?,
            notify: sys::eventfd(0)?,
            slab: Mutex::new(Slab::default()),
            role: Mutex::new(Role {
                owner: FREE,
                since: Instant::now(),
                waiting: 0,
                thread_idle: false,
                fast: false,
                urgent: false,
            }),
            check: Condvar::new(),
            handback: Condvar::new(),
            thread_started: AtomicBool::new(false),
            foreign: AtomicBool::new(false),
            sleepers: AtomicUsize::new(0),
        };
        // Level-triggered: stays ready until `react` drains it.
        sys::epoll_ctl(
            reactor.epoll.as_fd(),
            sys::EPOLL_CTL_ADD,
            reactor.notify.as_fd(),
            sys::EPOLLIN,
            NOTIFY,
        )?;
        Ok(reactor)
    }

    /// Start the reactor thread unless another call did.
    fn start_thread(&'static self) -> io::Result<()> {
        if self.thread_started.swap(true, Ordering::AcqRel) {
            return Ok(());
        }
        let spawned = std::thread::Builder::new()
            .name("pasts-reactor".into())
            .spawn(move || self.run());
        if let Err(err) = spawned {
            // Let the next `Device::new` try again.
            self.thread_started.store(false, Ordering::Release);
            return Err(io::Error::new(
                err.kind(),
                std::format!("pasts reactor: spawning its thread: {err}"),
            ));
        }
        Ok(())
    }

    /// The reactor thread: own the role when nobody else does.
    fn run(&self) {
        ON_REACTOR_THREAD.with(|on| on.set(true));
        let mut role = lock(&self.role);
        loop {
            role.fast =
                self.foreign.load(Ordering::Relaxed) || self.sleepers.load(Ordering::Relaxed) > 0;
            let cadence = if role.fast { &FAST } else { &SLOW };
            let urgent = core::mem::take(&mut role.urgent);
            let held = role.since.elapsed();
            let wait = match role.owner {
                FREE if urgent || held >= cadence.handover => {
                    role.set(THREAD);
                    drop(role);
                    role = self.own();
                    continue;
                }
                FREE => cadence.handover - held,
                BLOCK_ON if held >= cadence.idle_after => {
                    // A `block_on` thread waits in epoll_wait for long:
                    // sleep until it gives the role back.
                    role.thread_idle = true;
                    while role.thread_idle {
                        role = self
                            .check
                            .wait(role)
                            .unwrap_or_else(PoisonError::into_inner);
                    }
                    continue;
                }
                _ => cadence.check,
            };
            role = self
                .check
                .wait_timeout(role, wait)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }

    /// The reactor thread owns the role: dispatch until a `block_on` thread
    /// wants to sleep. Returns the role's lock, the role FREE.
    fn own(&self) -> MutexGuard<'_, Role> {
        loop {
            if self.react(-1, || {}).is_err() {
                // epoll_wait on a valid epoll fd with a valid buffer does not
                // fail (EINTR is retried); if it ever does, don't spin.
                std::thread::sleep(FAST.check);
            }
            let mut role = lock(&self.role);
            if role.waiting > 0 {
                role.set(FREE);
                self.handback.notify_all();
                return role;
            }
        }
    }

    /// `block_on`'s sleep: in `epoll_wait`, dispatching device events, if
    /// the role is free; else on `me`.
    fn sleep(&self, me: &Arc<ThreadInterrupt>) {
        // Not called when woken already (see `Park::park`): a busy thread
        // that took and gave back the role at every poll, never reaching
        // `epoll_wait`, would never leave it free long enough for the
        // reactor thread to take it.
        // A thread whose tasks never waited on a device or timer has no
        // event to collect: it sleeps plainly and leaves the role to the
        // threads that do (an idle owner would dispatch all their events).
        if !WAITS_ON_REACTOR.with(Cell::get) {
            me.wait_for();
            return;
        }
        let mut role = lock(&self.role);
        loop {
            match role.owner {
                FREE => {
                    role.set(BLOCK_ON);
                    drop(role);
                    let polled = self.poll_for(me);
                    self.release();
                    if polled.is_err() {
                        // Cannot wait in epoll: sleep plainly, the reactor
                        // thread takes over the devices.
                        me.wait_for();
                    }
                    return;
                }
                THREAD => {
                    // Ask the reactor thread for the role (the eventfd) and
                    // wait for it hooked, so a wake-up of `me` (which writes
                    // the eventfd as well) ends the wait too. The role given
                    // back is taken here, with no poll of the future.
                    if !me.begin_hooked() {
                        return;
                    }
                    role.waiting += 1;
                    self.notify();
                    role = self
                        .handback
                        .wait_while(role, |role| role.owner == THREAD)
                        .unwrap_or_else(PoisonError::into_inner);
                    role.waiting -= 1;
                    if me.end_hooked() {
                        return;
                    }
                }
                _ => {
                    // Another `block_on` thread owns the role: it dispatches
                    // this thread's events, and while it runs its future
                    // instead, the reactor thread takes over. Counted under
                    // the lock, so the owner's release sees this sleeper.
                    self.sleepers.fetch_add(1, Ordering::Relaxed);
                    drop(role);
                    me.wait_for();
                    self.sleepers.fetch_sub(1, Ordering::Relaxed);
                    return;
                }
            }
        }
    }

    /// A `block_on` owner gives the role back.
    fn release(&self) {
        let mut role = lock(&self.role);
        role.set(FREE);
        // Idle, or watching slowly while a `block_on` thread sleeps (it
        // started sleeping since the last look): the reactor thread must
        // look again now, for that thread's events have no collector while
        // this one runs.
        let asleep = self.sleepers.load(Ordering::Relaxed) > 0;
        if role.thread_idle || asleep && !role.fast {
            role.thread_idle = false;
            self.check.notify_one();
        }
    }

    /// A thread that ran `block_on` ended: if the role is free and a
    /// `block_on` thread sleeps (the ended one may have owned the role and
    /// left its events behind), the reactor thread takes the role at once.
    fn leave(&self) {
        if self.sleepers.load(Ordering::Relaxed) == 0 {
            return;
        }
        let mut role = lock(&self.role);
        if role.owner == FREE {
            role.urgent = true;
            role.thread_idle = false;
            self.check.notify_one();
        }
    }

    /// The owner's loop for `block_on`: wait in epoll_wait, dispatching
    /// events, until `me` is interrupted.
    fn poll_for(&self, me: &ThreadInterrupt) -> io::Result<()> {
        while me.begin_hooked() {
            let mut woken = false;
            // Back to EMPTY before dispatching, so waking `me` from the
            // dispatch costs no eventfd write.
            let polled = self.react(-1, || woken = me.end_hooked());
            if polled.is_err() && me.end_hooked() {
                // Keep the wake-up that came meanwhile for the plain
                // `wait_for` the caller falls back to.
                me.interrupt();
            }
            polled?;
            if woken {
                break;
            }
        }
        Ok(())
    }

    /// The epoll fd.
    pub(crate) fn epoll(&self) -> BorrowedFd<'_> {
        self.epoll.as_fd()
    }

    /// Make `epoll_wait` return now (or the next one, if nobody waits).
    pub(crate) fn notify(&self) {
        // Ignored: the only possible failure is EAGAIN when the counter is
        // at its maximum, and then the eventfd is already readable.
        let _ = sys::write_u64(self.notify.as_fd(), 1);
    }

    /// Wait up to `timeout_ms` (-1: forever) for events, call `woke`, and
    /// dispatch them: mark each registration READY and wake its waker.
    /// Returns how many events came (the notify eventfd included).
    fn react(&self, timeout_ms: i32, woke: impl FnOnce()) -> io::Result<usize> {
        let mut events = [sys::EpollEvent::new(0, 0); 64];
        let n = sys::epoll_wait(self.epoll.as_fd(), &mut events, timeout_ms)?;
        woke();
        for event in &events[..n] {
            let token = event.data();
            if token == NOTIFY {
                // Ignored: EAGAIN means the counter was drained already (a
                // late wake-up); reading an eventfd cannot fail otherwise.
                let _ = sys::read_u64(self.notify.as_fd());
                continue;
            }
            let registration = {
                let slab = lock(&self.slab);
                match slab.slots.get(index(token)) {
                    Some(slot) if slot.generation == generation(token) => slot.registration.clone(),
                    // The device was dropped after the event was queued.
                    _ => None,
                }
            };
            if let Some(registration) = registration {
                // A waker that panics (a bug in its executor, reported by the
                // panic hook) must not cost the batch's other events, whose
                // edges are spent, nor unwind into an unrelated
                // `block_on` or end the reactor thread: it is contained here.
                let events = event.events();
                let _ = catch_unwind(AssertUnwindSafe(|| registration.fire(events)));
            }
        }
        Ok(n)
    }

    /// Add a registration to the slab; returns it and its token. It is not
    /// in epoll yet: the caller adds the fd with the token, watching
    /// [`events`]`(interest)`.
    pub(crate) fn insert(&self, interest: u8) -> io::Result<(Arc<Registration>, u64)> {
        let registration = Arc::new(Registration {
            tick: AtomicUsize::new(0),
            inner: Mutex::new(Inner {
                interest,
                ready: 0,
                wants: 0,
                waker: None,
            }),
        });
        let mut slab = lock(&self.slab);
        let index = match slab.free.pop() {
            Some(index) => index,
            None => {
                let index = u32::try_from(slab.slots.len())
                    .ok()
                    .filter(|&index| index != u32::MAX)
                    .ok_or_else(|| {
                        io::Error::new(
                            io::ErrorKind::OutOfMemory,
                            "pasts reactor: too many devices",
                        )
                    })?;
                slab.slots.push(Slot {
                    generation: 0,
                    registration: None,
                });
                index
            }
        };
        // In bounds: `index` is a freed slot or the one just pushed.
        let slot = &mut slab.slots[index as usize];
        slot.registration = Some(Arc::clone(&registration));
        let token = u64::from(slot.generation) << 32 | u64::from(index);
        Ok((registration, token))
    }

    /// Free the slot of `token`: a late event for it is ignored from now on.
    pub(crate) fn remove(&self, token: u64) {
        let mut slab = lock(&self.slab);
        let Some(slot) = slab.slots.get_mut(index(token)) else {
            return;
        };
        if slot.generation != generation(token) {
            return;
        }
        slot.generation = slot.generation.wrapping_add(1);
        let registration = slot.registration.take();
        slab.free.push(token as u32);
        drop(slab);
        // Dropped outside the lock: it may drop the last clone of a waker.
        drop(registration);
    }
}

impl Park for Reactor {
    fn park(&self, me: &Arc<ThreadInterrupt>) {
        self.sleep(me);
    }

    fn unpark(&self) {
        self.notify();
    }

    fn leave(&self) {
        Reactor::leave(self);
    }
}

fn index(token: u64) -> usize {
    // The low 32 bits: fits `usize` on every 32- and 64-bit target.
    (token as u32) as usize
}

fn generation(token: u64) -> u32 {
    (token >> 32) as u32
}
