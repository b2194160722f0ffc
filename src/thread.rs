//! [`ThreadInterrupt`]: the `std` interrupt, a `Mutex` + `Condvar` with an
//! atomic fast path, and the thread-local executor behind [`block_on`].

use core::cell::Cell;
use core::future::Future;
use core::pin::pin;
use core::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};

use crate::interrupt::{run, with_shared_waker};
use crate::Interrupt;

// The state of a `ThreadInterrupt`. Transitions:
//
//   EMPTY    --interrupt--> NOTIFIED   (no sleeper: nothing else to do)
//   PARKED   --interrupt--> NOTIFIED   (+ lock/unlock the mutex, notify_one)
//   NOTIFIED --interrupt--> NOTIFIED   (wake-ups coalesce)
//   NOTIFIED --wait_for---> EMPTY      (fast path: return without the mutex)
//   EMPTY    --wait_for---> PARKED     (under the mutex, then Condvar::wait
//                                       until the state is NOTIFIED)
//
// No wake-up is lost: `interrupt` always leaves NOTIFIED behind, which only
// `wait_for` consumes. A sleeper moves to PARKED while holding the mutex and
// releases it only inside `Condvar::wait`; `interrupt` takes the mutex after
// it saw PARKED, so its `notify_one` cannot fall between the sleeper's check
// and its wait.
const EMPTY: u8 = 0;
const NOTIFIED: u8 = 1;
const PARKED: u8 = 2;

/// An [`Interrupt`] for threads: a `Mutex` + `Condvar` pair with an atomic
/// fast path, so a wake while the thread is awake costs one atomic swap.
///
/// Most programs use [`ThreadInterrupt::block_on`] (or [`pasts::block_on`](
/// crate::block_on)), which keeps one interrupt per thread. A `static`
/// `ThreadInterrupt` drives [`Interrupt::block_on`] with no allocation at
/// all; only one thread may wait on a given interrupt at a time.
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
    pub fn block_on<F: Future>(fut: F) -> F::Output {
        /// The thread's interrupt and whether a `block_on` runs on it.
        struct Local {
            interrupt: Arc<ThreadInterrupt>,
            busy: Cell<bool>,
        }

        /// Restores the thread's state when a `block_on` ends, by return or
        /// by unwinding.
        struct Exit<'a> {
            local: &'a Local,
            nested: bool,
        }

        impl Drop for Exit<'_> {
            fn drop(&mut self) {
                if self.nested {
                    // The nested call shared the outer call's interrupt and
                    // may have consumed a wake-up meant for the outer future:
                    // hand the outer loop one (possibly spurious) wake-up.
                    self.local.interrupt.interrupt();
                } else {
                    self.local.busy.set(false);
                }
            }
        }

        std::thread_local! {
            static LOCAL: Local = Local {
                interrupt: Arc::new(ThreadInterrupt::new()),
                busy: Cell::new(false),
            };
        }

        let mut fut = pin!(fut);
        let output = LOCAL.try_with(|local| {
            let nested = local.busy.replace(true);
            let _exit = Exit { local, nested };
            let interrupt = &local.interrupt;
            with_shared_waker(interrupt, |waker| run(&**interrupt, waker, fut.as_mut()))
        });
        match output {
            Ok(output) => output,
            // Only reachable from a thread-local destructor, after this
            // thread's interrupt is gone: use a fresh one.
            Err(_) => {
                let interrupt = Arc::new(ThreadInterrupt::new());
                with_shared_waker(&interrupt, |waker| run(&*interrupt, waker, fut))
            }
        }
    }

    fn lock(&self) -> MutexGuard<'_, ()> {
        // The mutex guards no data, so a poisoned lock is still usable.
        self.mutex.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Interrupt for ThreadInterrupt {
    #[inline]
    fn interrupt(&self) {
        if self.state.swap(NOTIFIED, Ordering::Release) != PARKED {
            return;
        }
        // The sleeper holds the mutex from its switch to PARKED until it is
        // inside `Condvar::wait`; taking it here orders this notify after.
        drop(self.lock());
        self.condvar.notify_one();
    }

    #[inline]
    fn wait_for(&self) {
        if self
            .state
            .compare_exchange(NOTIFIED, EMPTY, Ordering::Acquire, Ordering::Relaxed)
            .is_ok()
        {
            return;
        }
        let mut guard = self.lock();
        if let Err(NOTIFIED) =
            self.state
                .compare_exchange(EMPTY, PARKED, Ordering::Acquire, Ordering::Relaxed)
        {
            // Interrupted since the fast path: consume and return.
            self.state.store(EMPTY, Ordering::Relaxed);
            return;
        }
        loop {
            guard = self
                .condvar
                .wait(guard)
                .unwrap_or_else(PoisonError::into_inner);
            if self
                .state
                .compare_exchange(NOTIFIED, EMPTY, Ordering::Acquire, Ordering::Relaxed)
                .is_ok()
            {
                return;
            }
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
