//! The [`Interrupt`] trait and the crate's own wakers.
//!
//! Two wakers live here, both built by the crate so users never write a
//! `RawWaker`:
//!
//! - the *static* waker: its data pointer is a `&'static I`; cloning and
//!   dropping it do nothing, waking calls [`Interrupt::interrupt`]. No
//!   allocation ever, and sound however long the waker lives, because the
//!   interrupt lives for `'static`.
//! - the *shared* waker (feature `std`): its data pointer comes from an
//!   `Arc<I>`; a clone holds a strong count, so a waker that outlives the
//!   executor (stored in a static, sent to another thread, leaked) keeps the
//!   interrupt alive and waking it stays sound. The executor lends it out
//!   without touching the count ([`with_shared_waker`]), so a `block_on` call
//!   costs no atomic operation for it.
#![allow(unsafe_code)]

use core::future::Future;
use core::marker::PhantomData;
use core::pin::pin;
use core::task::{Context, Poll, RawWaker, RawWakerVTable, Waker};

/// Sleep until woken: the one thing a platform must give to run futures.
///
/// An executor is a loop: poll the future; if it is not ready, sleep until
/// something wakes it; repeat. `Interrupt` is the "sleep" and the "wake" of
/// that loop, and [`Interrupt::block_on`] is the loop itself.
///
/// # Contract
///
/// Like the "pender" of embedded executors, the two halves have different
/// callers:
///
/// - [`interrupt`](Interrupt::interrupt) is called by wakers: from any thread,
///   from an interrupt handler, at any time, any number of times, also while
///   nobody waits and after the executor returned. It must never poll a
///   future, never block for long, and never panic. Its only job is to make
///   the waiting side's current or next `wait_for` return.
/// - [`wait_for`](Interrupt::wait_for) is called only by the executor that
///   owns the interrupt, one caller at a time, between two polls. It sleeps
///   until `interrupt` is called. It may return early (spuriously): the
///   executor then polls once more and, finding nothing to do, waits again.
///
/// **No lost wake-up.** An `interrupt()` that happens after the previous
/// `wait_for` returned must make the next `wait_for` return at once. The
/// executor polls *after* `wait_for` returns, so any wake that happens while
/// it polls is remembered (a flag, an event register, a semaphore count) and
/// the following `wait_for` does not sleep. An implementation that only
/// sleeps "until the next interrupt" without remembering one that came early
/// loses wake-ups and hangs.
///
/// This is why the trait is safe to implement: a wrong implementation can
/// hang or spin, never cause undefined behaviour.
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
    /// Needs no allocator: the waker points at `self`, which lives for
    /// `'static`, so a waker that outlives this call (stored in another
    /// thread, in a static, leaked) stays sound — waking it then only calls
    /// `interrupt()`, which the contract allows at any time.
    ///
    /// A panic in `fut` unwinds out of `block_on`. Calls may nest (a
    /// future may call `block_on` on the same interrupt inside its `poll`):
    /// the inner call may consume a wake-up meant for the outer one, so
    /// every call ends with one `interrupt()`, and the next `wait_for` may
    /// return spuriously.
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
        /// Hands back the wake-up a nested call may have consumed, when the
        /// call ends by return or by unwinding.
        struct Exit<I: Interrupt + 'static>(&'static I);

        impl<I: Interrupt + 'static> Drop for Exit<I> {
            fn drop(&mut self) {
                self.0.interrupt();
            }
        }

        let _exit = Exit(self);
        run(self, &static_waker(self), fut)
    }
}

/// The executor loop shared by every `block_on`: poll, and sleep in
/// `wait_for` while the future is pending.
#[inline]
pub(crate) fn run<I, F>(interrupt: &I, waker: &Waker, fut: F) -> F::Output
where
    I: Interrupt + ?Sized,
    F: Future,
{
    let mut fut = pin!(fut);
    let mut cx = Context::from_waker(waker);
    loop {
        if let Poll::Ready(output) = fut.as_mut().poll(&mut cx) {
            return output;
        }
        interrupt.wait_for();
    }
}

/// The vtable of the static waker for interrupt type `I`.
struct StaticWaker<I>(PhantomData<I>);

impl<I: Interrupt> StaticWaker<I> {
    const VTABLE: RawWakerVTable =
        RawWakerVTable::new(Self::clone, Self::wake, Self::wake, Self::drop);

    /// # Safety
    ///
    /// `data` came from [`static_waker`]: it is a `&'static I`.
    unsafe fn clone(data: *const ()) -> RawWaker {
        RawWaker::new(data, &Self::VTABLE)
    }

    /// # Safety
    ///
    /// `data` came from [`static_waker`]: it is a `&'static I`.
    unsafe fn wake(data: *const ()) {
        // SAFETY: the caller passes the pointer made from a `&'static I` in
        // `static_waker`; a `'static` shared reference is valid forever and
        // `I: Sync` lets any thread use it.
        let interrupt = unsafe { &*data.cast::<I>() };
        interrupt.interrupt();
    }

    /// Nothing to release: the waker does not own the interrupt.
    unsafe fn drop(_data: *const ()) {}
}

/// A waker that calls `interrupt.interrupt()`; no allocation, no count.
fn static_waker<I: Interrupt>(interrupt: &'static I) -> Waker {
    let data: *const I = interrupt;
    let raw = RawWaker::new(data.cast(), &StaticWaker::<I>::VTABLE);
    // SAFETY: every vtable function receives `data`, a `&'static I`, which is
    // what they require; `I: Send + Sync` makes the waker's `Send + Sync`
    // promise hold.
    unsafe { Waker::from_raw(raw) }
}

#[cfg(feature = "std")]
pub(crate) use shared::with_shared_waker;

#[cfg(feature = "std")]
mod shared {
    use super::{Interrupt, PhantomData, RawWaker, RawWakerVTable, Waker};
    use alloc::sync::Arc;
    use core::mem::ManuallyDrop;

    /// The vtable of the shared waker for interrupt type `I`. Every waker
    /// made from it but the lent one owns one strong count of an `Arc<I>`.
    struct SharedWaker<I>(PhantomData<I>);

    impl<I: Interrupt> SharedWaker<I> {
        const VTABLE: RawWakerVTable =
            RawWakerVTable::new(Self::clone, Self::wake, Self::wake_by_ref, Self::drop);

        /// # Safety
        ///
        /// `data` is `Arc::as_ptr` of an `Arc<I>` with a strong count held
        /// for at least the duration of the call.
        unsafe fn clone(data: *const ()) -> RawWaker {
            // SAFETY: per this function's contract `data` points into a live
            // `Arc<I>`; the new waker owns the count added here.
            unsafe { Arc::increment_strong_count(data.cast::<I>()) };
            RawWaker::new(data, &Self::VTABLE)
        }

        /// # Safety
        ///
        /// `data` is `Arc::as_ptr` of an `Arc<I>` and this waker owns one
        /// strong count of it.
        unsafe fn wake(data: *const ()) {
            // SAFETY: this waker owns one strong count (contract), which the
            // `Arc` made here takes over and releases when dropped.
            let interrupt = unsafe { Arc::from_raw(data.cast::<I>()) };
            interrupt.interrupt();
        }

        /// # Safety
        ///
        /// `data` is `Arc::as_ptr` of an `Arc<I>` kept alive by this waker.
        unsafe fn wake_by_ref(data: *const ()) {
            // SAFETY: the waker keeps the `Arc<I>` alive (contract), so the
            // pointer is valid for a shared borrow during this call.
            let interrupt = unsafe { &*data.cast::<I>() };
            interrupt.interrupt();
        }

        /// # Safety
        ///
        /// `data` is `Arc::as_ptr` of an `Arc<I>` and this waker owns one
        /// strong count of it.
        unsafe fn drop(data: *const ()) {
            // SAFETY: this waker owns one strong count (contract); releasing
            // it is the waker's last use of `data`.
            unsafe { Arc::decrement_strong_count(data.cast::<I>()) };
        }
    }

    /// Lend `f` a waker for `interrupt` without touching its strong count.
    ///
    /// The lent waker is never dropped (it owns no count); clones of it made
    /// inside `f` each take a count of their own, so they may outlive `f`
    /// and the caller's `Arc`.
    #[inline]
    pub(crate) fn with_shared_waker<I: Interrupt, R>(
        interrupt: &Arc<I>,
        f: impl FnOnce(&Waker) -> R,
    ) -> R {
        let raw = RawWaker::new(Arc::as_ptr(interrupt).cast(), &SharedWaker::<I>::VTABLE);
        // SAFETY: `data` is `Arc::as_ptr` of `interrupt`, which the caller's
        // borrow keeps alive for all of `f`, the only place the lent waker is
        // used. `ManuallyDrop` keeps the lent waker from releasing a count it
        // does not own; `wake` (by value) cannot be called on it because `f`
        // only gets a `&Waker`. `I: Send + Sync` backs the waker's
        // `Send + Sync`.
        let waker = ManuallyDrop::new(unsafe { Waker::from_raw(raw) });
        f(&waker)
    }
}
