//! The [`Interrupt`] trait and its *static* waker (data is a `&'static I`:
//! clone and drop do nothing, wake calls [`Interrupt::interrupt`]; no
//! allocation).
#![allow(unsafe_code)]

use core::future::Future;
use core::marker::PhantomData;
use core::pin::pin;
use core::task::{Context, Poll, RawWaker, RawWakerVTable, Waker};

/// Sleep until woken: the one thing a platform must give to run futures.
///
/// An executor polls a future, sleeps until woken, and repeats: `Interrupt`
/// is the sleep and the wake, [`Interrupt::block_on`] the loop.
///
/// # Contract
///
/// - [`interrupt`](Interrupt::interrupt) is called by wakers: from any thread
///   or interrupt handler, at any time, any number of times, also after the
///   executor returned. It never polls, blocks for long or panics; it makes
///   the waiting side's current or next `wait_for` return.
/// - [`wait_for`](Interrupt::wait_for) is called only by the executor that
///   owns the interrupt, between two polls. It sleeps until `interrupt` is
///   called, and may return spuriously.
///
/// **No lost wake-up.** An `interrupt()` after the previous `wait_for`
/// returned (while the executor polls) must be remembered (a flag, an event
/// register, a semaphore count) so the next `wait_for` returns at once.
///
/// The trait is safe to implement: a wrong implementation can hang or spin,
/// never cause undefined behaviour.
///
/// # Example: a spinning interrupt for a bare-metal target
///
/// ```rust
/// use core::sync::atomic::{AtomicBool, Ordering};
/// use pasts::prelude::*;
///
/// /// On a microcontroller `wait_for` would execute `WFE`/`WFI` in the loop.
/// struct Spin(AtomicBool);
///
/// impl Interrupt for Spin {
///     fn interrupt(&self) {
///         self.0.store(true, Ordering::Release);
///     }
///
///     fn wait_for(&self) {
///         while !self.0.swap(false, Ordering::Acquire) {
///             core::hint::spin_loop();
///         }
///     }
/// }
///
/// static INTERRUPT: Spin = Spin(AtomicBool::new(false));
///
/// assert_eq!(INTERRUPT.block_on(async { 40 + 2 }), 42);
/// ```
pub trait Interrupt: Send + Sync {
    /// Wake the context that waits in [`wait_for`](Interrupt::wait_for), or
    /// make its next `wait_for` return at once.
    ///
    /// Callable from any thread or interrupt handler; never blocks for long.
    ///
    /// ```rust
    /// use pasts::prelude::*;
    ///
    /// let int = pasts::ThreadInterrupt::new();
    /// int.interrupt();
    /// int.wait_for(); // returns at once: the interrupt was remembered
    /// ```
    fn interrupt(&self);

    /// Sleep until [`interrupt`](Interrupt::interrupt) is called. May return
    /// spuriously; must not lose an `interrupt()` that came after the
    /// previous `wait_for` returned.
    ///
    /// ```rust
    /// use pasts::prelude::*;
    /// use std::sync::Arc;
    ///
    /// let int = Arc::new(pasts::ThreadInterrupt::new());
    /// let other = Arc::clone(&int);
    /// let t = std::thread::spawn(move || other.interrupt());
    /// int.wait_for(); // returns once the other thread interrupted
    /// t.join().unwrap();
    /// ```
    fn wait_for(&self);

    /// Run `fut` to completion on the current context, sleeping in
    /// [`wait_for`](Interrupt::wait_for) whenever it is not ready.
    ///
    /// Needs no allocator: the waker points at `self` (`'static`), so it
    /// stays sound after this call. A panic in `fut` unwinds out. Calls may
    /// nest; an inner call may consume the outer one's wake-up, so every
    /// call ends with one `interrupt()`.
    ///
    /// ```rust
    /// use pasts::prelude::*;
    ///
    /// static INTERRUPT: pasts::ThreadInterrupt = pasts::ThreadInterrupt::new();
    ///
    /// assert_eq!(INTERRUPT.block_on(async { "done" }), "done");
    /// ```
    fn block_on<F: Future>(&'static self, fut: F) -> F::Output
    where
        Self: Sized,
    {
        /// Hands back a wake-up a nested call may have consumed.
        struct Exit<I: Interrupt + 'static>(&'static I);

        impl<I: Interrupt + 'static> Drop for Exit<I> {
            fn drop(&mut self) {
                self.0.interrupt();
            }
        }

        let _exit = Exit(self);
        run(|| self.wait_for(), &static_waker(self), fut)
    }
}

/// The executor loop shared by every `block_on`: poll, and `sleep` while
/// the future is pending.
#[inline]
pub(crate) fn run<F: Future>(sleep: impl Fn(), waker: &Waker, fut: F) -> F::Output {
    let mut fut = pin!(fut);
    let mut cx = Context::from_waker(waker);
    loop {
        if let Poll::Ready(output) = fut.as_mut().poll(&mut cx) {
            return output;
        }
        sleep();
    }
}

/// The vtable of the static waker for interrupt type `I`.
struct Wakers<I>(PhantomData<I>);

impl<I: Interrupt> Wakers<I> {
    const STATIC: RawWakerVTable =
        RawWakerVTable::new(Self::clone_static, Self::wake, Self::wake, Self::forget);

    /// # Safety
    ///
    /// `data` points to an `I` alive for the call.
    unsafe fn wake(data: *const ()) {
        // SAFETY: per the contract; `I: Sync`.
        unsafe { &*data.cast::<I>() }.interrupt();
    }

    /// # Safety
    ///
    /// `data` is a `&'static I` (from [`static_waker`]).
    unsafe fn clone_static(data: *const ()) -> RawWaker {
        RawWaker::new(data, &Self::STATIC)
    }

    /// Nothing to release: the static waker does not own the interrupt.
    unsafe fn forget(_data: *const ()) {}
}

/// A waker that calls `interrupt.interrupt()`; no allocation, no count.
fn static_waker<I: Interrupt>(interrupt: &'static I) -> Waker {
    let data: *const I = interrupt;
    let raw = RawWaker::new(data.cast(), &Wakers::<I>::STATIC);
    // SAFETY: every vtable function gets `data`, a `&'static I`, as they
    // require; `I: Send + Sync` backs the waker's `Send + Sync`.
    unsafe { Waker::from_raw(raw) }
}
