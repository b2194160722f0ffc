//! [`ThreadInterrupt`]: the `std` interrupt, a `Mutex` + `Condvar` with an
//! atomic fast path, and the thread-local executor behind [`block_on`]. A
//! platform may give a thread a better place for `block_on` to sleep, a
//! [`Hook`] (the Linux reactor's `epoll_wait`); this module knows nothing
//! else of it.

use core::cell::Cell;
use core::fmt;
use core::future::Future;
use core::pin::pin;
use core::sync::atomic::{fence, AtomicU8, Ordering};
use core::task::Waker;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock, PoisonError};
use std::task::Wake;

use crate::interrupt::run;
use crate::Interrupt;

// The state of a `ThreadInterrupt`. Transitions:
//
//   any      --interrupt-----> NOTIFIED  (from PARKED: + lock/unlock the
//                                         mutex, notify_one; from HOOKED:
//                                         + `Hook::wake`)
//   NOTIFIED --wait_for------> EMPTY     (fast path: no mutex)
//   EMPTY    --wait_for------> PARKED    (under the mutex, then
//                                         Condvar::wait until NOTIFIED)
//   EMPTY    --begin_hooked--> HOOKED    (the thread's `Hook` sleeps)
//   HOOKED   --end_hooked----> EMPTY
//
// No wake-up is lost: `interrupt` always leaves NOTIFIED, which only the
// sleeper consumes. A sleeper moves to PARKED holding the mutex and lets go
// of it only inside `Condvar::wait`; `interrupt` takes the mutex after it
// saw PARKED, so its `notify_one` cannot fall before that wait. A hooked
// sleeper is HOOKED for its whole sleep, so an `interrupt` either sees it
// (and calls `Hook::wake`) or comes after `end_hooked`.
const EMPTY: u8 = 0;
const NOTIFIED: u8 = 1;
const PARKED: u8 = 2;
const HOOKED: u8 = 3;

/// Where a thread's [`block_on`] sleeps if a platform module set it
/// ([`set_hook`]): the Linux reactor's `epoll_wait` on the thread's epoll
/// set.
pub(crate) trait Hook: Send + Sync + fmt::Debug {
    /// Sleep until `me` is interrupted (may return spuriously): between
    /// `begin_hooked` and `end_hooked`, or in `me.wait_for()`. Called only
    /// when no wake-up was pending, so a thread whose future wakes itself
    /// on every poll never gets here.
    fn sleep(&self, me: &ThreadInterrupt);
    /// End a sleep between `begin_hooked` and `end_hooked`.
    fn wake(&self);
}

/// Make this thread's `block_on` sleep in the hook `make` returns, unless
/// it has one (a thread keeps its first).
// The seam's plug (with `begin_hooked`/`end_hooked`): unused in a build
// without a platform module.
#[allow(dead_code)]
pub(crate) fn set_hook(make: impl FnOnce() -> Arc<dyn Hook>) {
    // Ignored: a thread whose locals are gone sleeps plainly.
    let _ = LOCAL.try_with(|local| {
        local.interrupt.hook.get_or_init(make);
    });
}

/// The thread's interrupt and its waker.
struct Local {
    interrupt: Arc<ThreadInterrupt>,
    waker: Waker,
}

std::thread_local! {
    static LOCAL: Local = {
        let interrupt = Arc::new(ThreadInterrupt::new());
        let waker = Waker::from(Arc::clone(&interrupt));
        Local { interrupt, waker }
    };
    /// Whether a `block_on` runs on this thread (apart from `LOCAL`, so
    /// asking makes no interrupt for a thread that never runs one).
    static BUSY: Cell<bool> = const { Cell::new(false) };
}

/// Whether a [`block_on`] runs on this thread: a platform module asks it
/// to tell a future polled by `block_on` from one polled by another
/// executor.
#[allow(dead_code)] // used by platform modules only
pub(crate) fn in_block_on() -> bool {
    BUSY.with(Cell::get)
}

/// An [`Interrupt`] for threads: a `Mutex` + `Condvar` pair with an atomic
/// fast path, so a wake while the thread is awake costs one atomic swap.
///
/// Most programs use [`ThreadInterrupt::block_on`] (or [`pasts::block_on`](
/// crate::block_on)), which keeps one interrupt per thread. A `static`
/// `ThreadInterrupt` drives [`Interrupt::block_on`] with no allocation at
/// all. Only one thread may wait on a given interrupt at a time: a second
/// thread that waits while another one sleeps panics (give each thread its
/// own interrupt, or use `pasts::block_on`, which keeps one per thread).
///
/// `interrupt` takes the mutex when the thread sleeps, so it is not
/// async-signal-safe: a signal handler must not wake a task that this
/// interrupt runs on the thread the handler interrupted (it could interrupt
/// `wait_for` while the mutex is held, and deadlock).
///
/// ```rust
/// use pasts::prelude::*;
///
/// static INTERRUPT: pasts::ThreadInterrupt = pasts::ThreadInterrupt::new();
///
/// let answer = INTERRUPT.block_on(async { 6 * 7 });
/// assert_eq!(answer, 42);
/// ```
#[derive(Debug)]
pub struct ThreadInterrupt {
    state: AtomicU8,
    /// Where `block_on` sleeps on this interrupt, if not in `wait_for`.
    hook: OnceLock<Arc<dyn Hook>>,
    mutex: Mutex<()>,
    condvar: Condvar,
}

impl Default for ThreadInterrupt {
    fn default() -> Self {
        Self::new()
    }
}

impl ThreadInterrupt {
    /// A new interrupt with no pending wake-up.
    ///
    /// ```rust
    /// static INTERRUPT: pasts::ThreadInterrupt = pasts::ThreadInterrupt::new();
    /// # let _ = &INTERRUPT;
    /// ```
    pub const fn new() -> Self {
        Self {
            state: AtomicU8::new(EMPTY),
            hook: OnceLock::new(),
            mutex: Mutex::new(()),
            condvar: Condvar::new(),
        }
    }

    /// Run `fut` to completion on the current thread.
    ///
    /// Each thread keeps one interrupt, made on its first call: later calls
    /// allocate nothing. Calls may nest (a future may call `block_on`
    /// inside its `poll`); a panic in `fut` unwinds out of `block_on` and the
    /// thread can `block_on` again. Wakers may outlive the call: waking one
    /// afterwards is a harmless no-op for the thread.
    ///
    /// ```rust
    /// pasts::ThreadInterrupt::block_on(pasts::spawn_blocking(|| {
    ///     std::thread::sleep(std::time::Duration::from_millis(10));
    /// }));
    /// ```
    #[inline]
    pub fn block_on<F: Future>(fut: F) -> F::Output {
        /// Restores the thread's state when a `block_on` ends, by return or
        /// by unwinding. A nested call (`.1`) shared the outer call's
        /// interrupt and may have consumed a wake-up meant for the outer
        /// future: it hands the outer loop one (possibly spurious) wake-up.
        struct Exit<'a>(&'a ThreadInterrupt, bool);

        impl Drop for Exit<'_> {
            #[inline]
            fn drop(&mut self) {
                match self.1 {
                    true => self.0.interrupt(),
                    false => BUSY.with(|busy| busy.set(false)),
                }
            }
        }

        let mut fut = pin!(fut);
        let output = LOCAL.try_with(|local| {
            let _exit = Exit(&local.interrupt, BUSY.with(|busy| busy.replace(true)));
            run(|| sleep(&local.interrupt), &local.waker, fut.as_mut())
        });
        // Err only from a thread-local destructor, after this thread's
        // interrupt is gone: use a fresh one.
        output.unwrap_or_else(|_| {
            let interrupt = Arc::new(ThreadInterrupt::new());
            let waker = Waker::from(Arc::clone(&interrupt));
            run(|| sleep(&interrupt), &waker, fut)
        })
    }

    /// NOTIFIED to EMPTY: consume a pending wake-up, if any, without
    /// sleeping (the fast path of every sleep).
    #[inline]
    fn take_notified(&self) -> bool {
        self.state
            .compare_exchange(NOTIFIED, EMPTY, Ordering::Acquire, Ordering::Relaxed)
            .is_ok()
    }

    fn lock(&self) -> MutexGuard<'_, ()> {
        // The mutex guards no data, so a poisoned lock is still usable.
        self.mutex.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The sleep of a [`Hook`].
#[allow(dead_code)]
impl ThreadInterrupt {
    /// EMPTY to HOOKED before a [`Hook`] sleeps; false if NOTIFIED (the
    /// only other state its thread can find): then the wake-up is consumed.
    pub(crate) fn begin_hooked(&self) -> bool {
        // Release: an `interrupt` that sees HOOKED sees `hook` set.
        let to = self
            .state
            .compare_exchange(EMPTY, HOOKED, Ordering::Release, Ordering::Acquire);
        if to.is_err() {
            self.state.store(EMPTY, Ordering::Relaxed);
        }
        to.is_ok()
    }

    /// Back to EMPTY after a [`Hook`] slept; true if NOTIFIED meanwhile
    /// (the wake-up is consumed).
    pub(crate) fn end_hooked(&self) -> bool {
        self.state.swap(EMPTY, Ordering::Acquire) == NOTIFIED
    }
}

impl Interrupt for ThreadInterrupt {
    #[inline]
    fn interrupt(&self) {
        match self.state.swap(NOTIFIED, Ordering::Release) {
            PARKED => {
                // The sleeper holds the mutex from its switch to PARKED until
                // it is inside `Condvar::wait`; taking it here orders this
                // notify after.
                drop(self.lock());
                self.condvar.notify_one();
            }
            HOOKED => {
                fence(Ordering::Acquire);
                if let Some(hook) = self.hook.get() {
                    hook.wake();
                }
            }
            _ => {}
        }
    }

    #[inline]
    fn wait_for(&self) {
        if self.take_notified() {
            return;
        }
        let mut guard = self.lock();
        // Acquire on failure too: seeing NOTIFIED here consumes the wake-up,
        // so what the waking thread did before `interrupt` must be visible
        // to the poll that follows (the interrupter took no lock).
        match self
            .state
            .compare_exchange(EMPTY, PARKED, Ordering::Acquire, Ordering::Acquire)
        {
            Ok(_) => {}
            // Interrupted since the fast path: consume and return.
            Err(NOTIFIED) => return self.state.store(EMPTY, Ordering::Relaxed),
            // Another thread sleeps on this interrupt: one wake-up would
            // reach only one of them, and the other would hang.
            Err(_) => {
                drop(guard);
                panic!(
                    "pasts::ThreadInterrupt: two threads wait on one interrupt at once; \
                     give each thread its own ThreadInterrupt (or use pasts::block_on, \
                     which keeps one per thread)"
                )
            }
        }
        while !self.take_notified() {
            guard = self
                .condvar
                .wait(guard)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }
}

/// The waker of [`ThreadInterrupt::block_on`]: it interrupts.
impl Wake for ThreadInterrupt {
    fn wake(self: Arc<Self>) {
        self.interrupt();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.interrupt();
    }
}

/// How `block_on` sleeps between polls: not at all if woken already (a
/// future that wakes itself, say), else in the thread's [`Hook`] or
/// [`Interrupt::wait_for`]. Always inlined into `block_on`'s loop, so a
/// pending wake-up costs one compare-and-swap and no call.
#[inline(always)]
fn sleep(me: &ThreadInterrupt) {
    if !me.take_notified() {
        match me.hook.get() {
            Some(hook) => hook.sleep(me),
            None => me.wait_for(),
        }
    }
}

/// Run `fut` to completion on the current thread: the same as
/// [`ThreadInterrupt::block_on`].
///
/// ```rust
/// async fn answer() -> u32 {
///     42
/// }
///
/// assert_eq!(pasts::block_on(answer()), 42);
/// ```
#[inline]
pub fn block_on<F: Future>(fut: F) -> F::Output {
    ThreadInterrupt::block_on(fut)
}
