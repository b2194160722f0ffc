//! The epoll reactor behind [`Device`](super::Device) and the timers.
//!
//! # Tokens
//!
//! Every registered fd is in an epoll set, edge-triggered, with the
//! registration's *token* as epoll data: slab index (low 32 bits) and the
//! slot's generation (high 32 bits), never a pointer. Whoever dispatches an
//! event looks the token up in the slab under its lock; a slot freed by a
//! dropped device has a new generation, so a late event for it is ignored,
//! and a registration the dispatcher already holds is kept alive by its
//! `Arc`. No use-after-free is possible, and dropping a device frees its
//! slot for reuse at once.
//!
//! # Homes
//!
//! There is one *shared* epoll set, which the reactor thread
//! (`pasts-reactor`, started with the first device) waits on for ever, and
//! one per thread that polled a device or timer inside `pasts::block_on`
//! (made then). Each has an eventfd that ends a wait on it. A registration
//! is in one set, its *home*: each poll moves it to the set of the polling
//! thread, that thread's own inside `block_on` and the shared one
//! elsewhere (`EPOLL_CTL_ADD` there, which reports a readiness the fd
//! already has as a new event, then `EPOLL_CTL_DEL` from the old set). So
//! a `block_on` thread sleeps in `epoll_wait` on its own set, the events
//! of what it waits for wake it with no thread hop, and its waker ends the
//! wait with an eventfd write; the reactor thread serves every other
//! executor. A registration's home, readiness and waker change under its
//! lock only. (The timer driver moves its timerfd on some timer polls
//! only, and may pin it to the shared set: see its `Driver::follow`.)
//!
//! # Eviction
//!
//! A `block_on` thread collects its set only as it sleeps. One that stays
//! awake (a future that keeps waking itself, a poll that blocks, another
//! executor run inside `block_on`) or that left `block_on` would strand
//! its registrations' events, so the reactor thread checks every [`CHECK`]:
//! a thread's set that holds registrations, was not waited on since the
//! last check and is not waited on now is *evicted*: its registrations
//! move to the shared set, and polls on that thread keep them there until
//! it sleeps in its set again (a thread that never does, busy or running
//! another executor, is then served by the reactor thread at once). A
//! thread that ends evicts its own. A registration moving into a set
//! counts as a wait on it, so the next check does not evict it at once.
//! After [`QUIET`] checks that found every such set waited on, the reactor
//! thread stops checking (`idle`) until a thread wakes from its set or a
//! registration moves into one: that thread then writes the shared
//! eventfd; an event of the shared set alone does not restart the checks.
use core::cell::{Cell, OnceCell};
use core::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use core::task::Waker;
use core::time::Duration;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::Instant;
use std::vec::Vec;

use super::sys;
use crate::thread::{in_block_on, set_hook, Hook};
use crate::{Interrupt, ThreadInterrupt};

/// The token of a set's own eventfd (no slab index is `u32::MAX`).
const NOTIFY: u64 = u64::MAX;

/// How often the reactor thread checks the threads' sets while one is
/// awake: a thread that stays awake for longer strands its events for up
/// to twice that.
const CHECK: Duration = Duration::from_millis(10);

/// Checks that found every thread's set waited on before the reactor
/// thread stops checking.
const QUIET: u32 = 10;

// A registration's readiness. The fd is in epoll, edge-triggered, for the
// directions of its `Watch` (`interest`); `read_with`/`write_with` add the
// other one the first time they wait for it (one `EPOLL_CTL_MOD`, which
// also reports a readiness the fd already has). Each event reports what
// the fd is ready for after something happened on it. Under the
// registration's lock, `ready` holds the directions (`READ`, `WRITE`)
// reported and not cleared since, and every event bumps `tick`. The device
// polls (one task at a time: it takes `&mut`); the dispatcher fires:
//
//   fire(events):  ready |= events' directions, tick += 1, wake the waker
//                  if it waits for one of them (`wants`)
//   poll_io(want, seen):  an I/O call returned WouldBlock after the device
//                  read `tick == seen`: clear `want` unless tick moved
//                  since (an event came during the call); then Ready if
//                  `want` is set, else store the waker, Pending
//   poll_level(want):  Ready (consuming it) if `want` is set; else store the
//                  waker, then Ready if the fd is ready now (`poll`, no
//                  wait), or (the timer driver) `EPOLL_CTL_MOD`, which
//                  reports the fd's present readiness as a new event:
//                  level-triggered
//
// No readiness is lost: a direction is cleared only when the I/O call said
// "not ready" after the last event (or when an await consumed it, and then
// the re-check follows), and the waker is stored before, so the next edge
// finds it. A move to another set re-checks like the MOD: the ADD reports
// a readiness the fd already has as a new event.

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

/// An epoll set and the eventfd that ends a wait on it.
#[derive(Debug)]
pub(crate) struct Poller {
    epoll: OwnedFd,
    notify: OwnedFd,
    /// Registrations whose home this is (a thread's set only).
    homed: AtomicUsize,
    /// Its thread waits on it now.
    asleep: AtomicBool,
    /// Waits on it so far.
    waits: AtomicUsize,
    /// `waits` at the reactor thread's last check.
    checked: AtomicUsize,
    /// Evicted because its thread stayed awake: polls on that thread use
    /// the shared set until it sleeps in this one again.
    stale: AtomicBool,
}

impl Poller {
    fn new() -> io::Result<Arc<Poller>> {
        let poller = Poller {
            epoll: sys::epoll_create()?,
            notify: sys::eventfd(0)?,
            homed: AtomicUsize::new(0),
            asleep: AtomicBool::new(false),
            waits: AtomicUsize::new(0),
            checked: AtomicUsize::new(0),
            stale: AtomicBool::new(false),
        };
        // Level-triggered: stays ready until `react` drains it.
        let notify = poller.notify.as_raw_fd();
        sys::epoll_ctl(
            poller.epoll(),
            sys::EPOLL_CTL_ADD,
            notify,
            sys::EPOLLIN,
            NOTIFY,
        )?;
        Ok(Arc::new(poller))
    }

    fn epoll(&self) -> BorrowedFd<'_> {
        self.epoll.as_fd()
    }

    /// Wait up to `timeout_ms` (-1: forever) for events, call `woke`, and
    /// dispatch them: mark each registration ready and wake its waker.
    fn react(&self, slab: &Mutex<Slab>, timeout_ms: i32, woke: impl FnOnce()) -> io::Result<()> {
        let mut events = [sys::EpollEvent::new(0, 0); 64];
        let n = sys::epoll_wait(self.epoll(), &mut events, timeout_ms);
        woke();
        for event in &events[..n?] {
            let token = event.data();
            if token == NOTIFY {
                // Ignored: EAGAIN means the counter was drained already (a
                // late wake-up); reading an eventfd cannot fail otherwise.
                let _ = sys::read_u64(self.notify.as_fd());
                continue;
            }
            let registration = {
                let slab = lock(slab);
                match slab.slots.get(index(token)) {
                    Some(slot) if slot.generation == generation(token) => slot.registration.clone(),
                    // The device was dropped after the event was queued.
                    _ => None,
                }
            };
            if let Some(registration) = registration {
                // A waker that panics (a bug in its executor, reported by the
                // panic hook) must not cost the batch's other events, whose
                // edges are spent, nor unwind into an unrelated `block_on`
                // or end the reactor thread: it is contained here.
                let events = event.events();
                let _ = catch_unwind(AssertUnwindSafe(|| registration.fire(events)));
            }
        }
        Ok(())
    }
}

impl Hook for Poller {
    /// A `block_on` thread's sleep on its own set, dispatching events,
    /// until `me` is interrupted.
    fn sleep(&self, me: &ThreadInterrupt) {
        let Some(reactor) = REACTOR.get() else {
            return me.wait_for();
        };
        while me.begin_hooked() {
            self.asleep.store(true, Ordering::SeqCst);
            let mut woken = false;
            // Back to EMPTY before dispatching, so waking `me` from the
            // dispatch costs no eventfd write.
            let polled = self.react(&reactor.slab, -1, || {
                woken = me.end_hooked();
                self.asleep.store(false, Ordering::SeqCst);
                self.stale.store(false, Ordering::Relaxed);
                self.waits.fetch_add(1, Ordering::Relaxed);
                reactor.watch(self);
            });
            if polled.is_err() {
                // Cannot wait in epoll: sleep plainly, keeping a wake-up
                // that came meanwhile; the reactor thread evicts this set.
                if woken {
                    me.interrupt();
                }
                return me.wait_for();
            }
            if woken {
                return;
            }
        }
    }

    fn wake(&self) {
        // Ignored: the only possible failure is EAGAIN when the counter is
        // at its maximum, and then the eventfd is already readable.
        let _ = sys::write_u64(self.notify.as_fd(), 1);
    }
}

/// What a device and the dispatcher share.
pub(crate) struct Registration {
    reactor: &'static Reactor,
    token: u64,
    /// The device's fd: open while `home` is set.
    fd: RawFd,
    /// Events so far; changed only under `inner`'s lock.
    tick: AtomicUsize,
    inner: Mutex<Inner>,
}

struct Inner {
    /// The set the fd is in; `None` once deregistered.
    home: Option<Arc<Poller>>,
    /// Kept in the shared set (`pin_shared`).
    pinned: bool,
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
    /// added; if that fails, ready, so the caller's I/O meets the fd's
    /// error.
    pub(crate) fn poll_io(&self, want: u8, seen: Option<usize>, waker: &Waker) -> bool {
        let mut inner = lock(&self.inner);
        self.follow(&mut inner);
        if seen == Some(self.tick.load(Ordering::Relaxed)) {
            inner.ready &= !want;
        }
        if inner.ready & want != 0 {
            return true;
        }
        if inner.interest & want != want {
            let interest = inner.interest | want;
            if self.ctl(&inner, sys::EPOLL_CTL_MOD, interest).is_err() {
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
    /// that was last consumed (consuming it); else store `waker` and
    /// re-check whether the fd is ready now (unread data):
    /// - with `fd`, ask it (`poll`, no wait): Ready if so, and a readiness
    ///   after the question is a new edge, which wakes the waker;
    /// - without, `EPOLL_CTL_MOD`, which makes epoll report it as a new
    ///   event: for the timer driver, which leaves its fd readable on
    ///   purpose and must get back to its executor between passes.
    ///
    /// If the re-check fails, ready, so the caller's I/O meets the fd's
    /// error.
    pub(crate) fn poll_level(&self, want: u8, fd: Option<BorrowedFd<'_>>, waker: &Waker) -> bool {
        let mut inner = lock(&self.inner);
        let moved = self.follow(&mut inner);
        if inner.ready & want != 0 {
            inner.ready &= !want;
            return true;
        }
        inner.wants = want;
        let old = store(&mut inner.waker, waker);
        let ready = match fd {
            Some(fd) => ready_now(fd, want),
            // A move re-checked already.
            None => {
                !moved
                    && self
                        .ctl(&inner, sys::EPOLL_CTL_MOD, inner.interest)
                        .is_err()
            }
        };
        // Ready after all: nothing waits, so no later event wakes the task.
        let unused = match ready {
            true => inner.waker.take(),
            false => None,
        };
        drop(inner);
        drop((old, unused));
        ready
    }

    /// Move to the polling thread's set (see the module docs), as a poll
    /// does; for the timer driver, whose timers are polled apart from its
    /// timerfd.
    pub(crate) fn follow_poller(&self) {
        self.follow(&mut lock(&self.inner));
    }

    /// Keep the registration in the shared set from now on, whoever polls
    /// it (the timer driver's, once timers are awaited on several threads).
    pub(crate) fn pin_shared(&self) {
        let mut inner = lock(&self.inner);
        inner.pinned = true;
        self.follow(&mut inner);
    }

    /// Move to the polling thread's set (the shared one if pinned) if it is
    /// not there; true if it moved. If the move fails, it stays.
    fn follow(&self, inner: &mut Inner) -> bool {
        let pinned = inner.pinned;
        let mut go = |here: &Arc<Poller>| {
            let away = inner
                .home
                .as_ref()
                .is_some_and(|home| !Arc::ptr_eq(home, here));
            away && self.move_to(inner, here).is_ok()
        };
        match pinned {
            true => go(&self.reactor.shared),
            false => self.reactor.with_here(go),
        }
    }

    /// Move the fd from its home to `to`'s set.
    fn move_to(&self, inner: &mut Inner, to: &Arc<Poller>) -> io::Result<()> {
        let Some(home) = inner.home.clone() else {
            return Ok(());
        };
        self.add_to(inner, to)?;
        // Ignored: DEL fails only if the fd is not in the set.
        let _ = sys::epoll_ctl(home.epoll(), sys::EPOLL_CTL_DEL, self.fd, 0, 0);
        self.reactor.left(&home);
        Ok(())
    }

    /// Add the fd to `to`'s set and make that its home (leaving the old
    /// home, if any, is the caller's); if the ADD fails, nothing changes.
    fn add_to(&self, inner: &mut Inner, to: &Arc<Poller>) -> io::Result<()> {
        let from = inner.home.replace(Arc::clone(to));
        if let Err(err) = self.ctl(inner, sys::EPOLL_CTL_ADD, inner.interest) {
            inner.home = from;
            return Err(err);
        }
        self.reactor.joined(to);
        Ok(())
    }

    /// `epoll_ctl(op)` on the home set, watching `interest`.
    fn ctl(&self, inner: &Inner, op: i32, interest: u8) -> io::Result<()> {
        match &inner.home {
            Some(home) => sys::epoll_ctl(home.epoll(), op, self.fd, events(interest), self.token),
            None => Ok(()),
        }
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

    /// Take the fd out of epoll and free the slot: a late event is ignored
    /// from now on. The caller closes the fd only after this.
    pub(crate) fn deregister(&self) {
        let mut inner = lock(&self.inner);
        if let Some(home) = inner.home.take() {
            // Ignored: DEL fails only if the fd is not in the set.
            let _ = sys::epoll_ctl(home.epoll(), sys::EPOLL_CTL_DEL, self.fd, 0, 0);
            self.reactor.left(&home);
        }
        drop(inner);
        self.reactor.remove(self.token);
    }
}

/// Whether `fd` is ready for a direction of `want` now (`poll`, no wait);
/// if asking fails or the fd is not open, ready, so the caller's I/O meets
/// the error.
fn ready_now(fd: BorrowedFd<'_>, want: u8) -> bool {
    let read = if want & READ != 0 { sys::POLLIN } else { 0 };
    let write = if want & WRITE != 0 { sys::POLLOUT } else { 0 };
    match sys::poll(fd, read | write, 0) {
        Ok(revents) if revents & sys::POLLNVAL == 0 => {
            // With epoll's bits (hang-up and error always reported).
            directions(revents as u16 as u32) & want != 0
        }
        _ => true,
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

/// One slab slot: the generation counts how often the slot was freed.
struct Slot {
    generation: u32,
    registration: Option<Arc<Registration>>,
}

/// Registrations by index, with a free list of indices to reuse.
#[derive(Default)]
struct Slab {
    slots: Vec<Slot>,
    free: Vec<u32>,
}

/// The shared set, the slab, and the threads' sets.
pub(crate) struct Reactor {
    shared: Arc<Poller>,
    slab: Mutex<Slab>,
    /// The threads' sets, for the checks.
    threads: Mutex<Vec<Arc<Poller>>>,
    /// The reactor thread stopped checking (see the module docs).
    idle: AtomicBool,
    thread_started: AtomicBool,
}

/// The reactor if a device was ever made (else `block_on` sleeps plainly).
static REACTOR: OnceLock<Reactor> = OnceLock::new();

/// A thread's own set, evicted when the thread ends.
struct Own(OnceCell<Option<Arc<Poller>>>);

impl Drop for Own {
    fn drop(&mut self) {
        if let (Some(Some(poller)), Some(reactor)) = (self.0.get(), REACTOR.get()) {
            reactor.evict(poller);
            // Should a move have failed, the checks keep evicting it.
            if poller.homed.load(Ordering::SeqCst) == 0 {
                lock(&reactor.threads).retain(|p| !Arc::ptr_eq(p, poller));
            }
        }
    }
}

std::thread_local! {
    /// Set on the reactor thread only.
    static ON_REACTOR_THREAD: Cell<bool> = const { Cell::new(false) };
    /// This thread's set, made when it first polls a registration inside
    /// `block_on` (`None` if that failed: it then uses the shared one).
    static OWN: Own = const { Own(OnceCell::new()) };
}

/// Whether the caller is the reactor thread (dispatching for executors that
/// run elsewhere).
pub(crate) fn on_reactor_thread() -> bool {
    ON_REACTOR_THREAD.with(Cell::get)
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
                let new = Reactor {
                    shared: Poller::new()?,
                    slab: Mutex::new(Slab::default()),
                    threads: Mutex::new(Vec::new()),
                    idle: AtomicBool::new(false),
                    thread_started: AtomicBool::new(false),
                };
                // If another thread won the race, `new` is dropped (its fds
                // closed) and theirs is used.
                REACTOR.get_or_init(move || new)
            }
        };
        if !reactor.thread_started.load(Ordering::Acquire) {
            reactor.start_thread()?;
        }
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

    /// The reactor thread: serve the shared set, and check the threads'.
    fn run(&self) {
        ON_REACTOR_THREAD.with(|on| on.set(true));
        let mut quiet = 0;
        let mut last = Instant::now();
        loop {
            let rest = quiet >= QUIET && self.rest();
            let timeout = match rest {
                true => -1,
                false => {
                    let left = CHECK.saturating_sub(last.elapsed());
                    // Rounded up: a wait that ends early only loops.
                    i32::try_from(left.as_millis() + 1).unwrap_or(i32::MAX)
                }
            };
            if self.shared.react(&self.slab, timeout, || {}).is_err() {
                // epoll_wait on a valid epoll fd with a valid buffer does not
                // fail (EINTR is retried); if it ever does, don't spin.
                std::thread::sleep(CHECK);
            }
            if rest && !self.idle.load(Ordering::SeqCst) {
                // Woken by a thread (`watch`), not only by the shared set:
                // watch for another `QUIET` checks before resting again.
                quiet = 0;
            }
            if last.elapsed() >= CHECK {
                last = Instant::now();
                quiet = match self.check() {
                    true => quiet + 1,
                    false => 0,
                };
            }
        }
    }

    /// Evict every thread's set that holds registrations and was not waited
    /// on since the last check (and is not now); true if each such set is
    /// waited on now.
    fn check(&self) -> bool {
        let threads = lock(&self.threads).clone();
        let mut quiet = true;
        for poller in &threads {
            let waits = poller.waits.load(Ordering::Relaxed);
            let seen = poller.checked.swap(waits, Ordering::Relaxed);
            if poller.homed.load(Ordering::Relaxed) == 0 || poller.asleep.load(Ordering::Relaxed) {
                continue;
            }
            quiet = false;
            if waits == seen {
                poller.stale.store(true, Ordering::Relaxed);
                self.evict(poller);
            }
        }
        quiet
    }

    /// Before the reactor thread stops checking: set `idle`, then true if
    /// every thread's set that holds registrations is waited on (else
    /// `idle` is cleared again). A thread that wakes from its set or
    /// homes a registration there after this looks at `idle` ([`watch`]).
    ///
    /// [`watch`]: Reactor::watch
    fn rest(&self) -> bool {
        self.idle.store(true, Ordering::SeqCst);
        let asleep = lock(&self.threads).iter().all(|poller| {
            poller.homed.load(Ordering::SeqCst) == 0 || poller.asleep.load(Ordering::SeqCst)
        });
        if !asleep {
            self.idle.store(false, Ordering::SeqCst);
        }
        asleep
    }

    /// A thread's set woke or gained a registration: if the reactor thread
    /// stopped checking, restart it.
    fn watch(&self, poller: &Poller) {
        if poller.homed.load(Ordering::SeqCst) > 0
            && self.idle.load(Ordering::SeqCst)
            && self.idle.swap(false, Ordering::SeqCst)
        {
            self.shared.wake();
        }
    }

    /// A registration left `from`'s set (moved or deregistered): keep
    /// count.
    fn left(&self, from: &Arc<Poller>) {
        if !Arc::ptr_eq(from, &self.shared) {
            from.homed.fetch_sub(1, Ordering::SeqCst);
        }
    }

    /// A registration joined `to`'s set: keep count.
    fn joined(&self, to: &Arc<Poller>) {
        if !Arc::ptr_eq(to, &self.shared) {
            to.homed.fetch_add(1, Ordering::SeqCst);
            // Counted as a wait: a set that just gained a registration is
            // not evicted by the next check.
            to.waits.fetch_add(1, Ordering::Relaxed);
            self.watch(to);
        }
    }

    /// Move every registration homed in `poller`'s set to the shared one.
    fn evict(&self, poller: &Arc<Poller>) {
        if poller.homed.load(Ordering::Relaxed) == 0 {
            return;
        }
        let all: Vec<_> = lock(&self.slab)
            .slots
            .iter()
            .filter_map(|slot| slot.registration.clone())
            .collect();
        for registration in all {
            let mut inner = lock(&registration.inner);
            if inner
                .home
                .as_ref()
                .is_some_and(|home| Arc::ptr_eq(home, poller))
            {
                // Should the ADD fail, it stays: its thread's next sleep
                // collects it, or the next check tries again.
                let _ = registration.move_to(&mut inner, &self.shared);
            }
        }
    }

    /// Call `f` with the set a registration polled on this thread belongs
    /// in: the thread's own inside `block_on`, else the shared one.
    fn with_here<R>(&'static self, mut f: impl FnMut(&Arc<Poller>) -> R) -> R {
        if !in_block_on() {
            return f(&self.shared);
        }
        OWN.try_with(|own| {
            let own = own.0.get_or_init(|| {
                let poller = Poller::new().ok()?;
                lock(&self.threads).push(Arc::clone(&poller));
                set_hook(|| Arc::clone(&poller) as Arc<dyn Hook>);
                Some(poller)
            });
            match own {
                Some(own) if !own.stale.load(Ordering::Relaxed) => f(own),
                _ => f(&self.shared),
            }
        })
        // Err only from a thread-local destructor: the thread is ending.
        .unwrap_or_else(|_| f(&self.shared))
    }

    /// Register `fd`, watching `interest`, in the polling thread's set.
    /// `None` if epoll refuses the fd (`EPERM`: regular files).
    pub(crate) fn register(
        &'static self,
        fd: BorrowedFd<'_>,
        interest: u8,
    ) -> io::Result<Option<Arc<Registration>>> {
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
        let token = u64::from(slot.generation) << 32 | u64::from(index);
        let registration = Arc::new(Registration {
            reactor: self,
            token,
            fd: fd.as_raw_fd(),
            tick: AtomicUsize::new(0),
            inner: Mutex::new(Inner {
                home: None,
                pinned: false,
                interest,
                ready: 0,
                wants: 0,
                waker: None,
            }),
        });
        slot.registration = Some(Arc::clone(&registration));
        drop(slab);
        let added =
            self.with_here(|here| registration.add_to(&mut lock(&registration.inner), here));
        match added {
            Ok(()) => Ok(Some(registration)),
            Err(err) => {
                self.remove(token);
                match sys::errno(&err) {
                    Some(sys::EPERM) => Ok(None),
                    _ => Err(err),
                }
            }
        }
    }

    /// Free the slot of `token`.
    fn remove(&self, token: u64) {
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

fn index(token: u64) -> usize {
    // The low 32 bits: fits `usize` on every 32- and 64-bit target.
    (token as u32) as usize
}

fn generation(token: u64) -> u32 {
    (token >> 32) as u32
}
