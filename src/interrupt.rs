//! The [`Interrupt`] trait and its waker, which needs no allocation.
#![allow(unsafe_code)]

use core::future::Future;
use core::marker::PhantomData;
use core::pin::pin;
use core::task::{Context, Poll, RawWaker, RawWakerVTable, Waker};

/// Sleep until woken: the one thing a platform must give to run futures.
///
/// An executor polls a future, sleeps until woken, and repeats: `Interrupt`
/// is the sleep and the wake, [`Interrupt::block_on`] the loop. The trait is
/// safe to implement: a wrong implementation can hang or spin, never cause
/// undefined behaviour. A spinning interrupt for a bare-metal target:
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
    /// Make the current or next [`wait_for`](Interrupt::wait_for) return.
    ///
    /// Called by wakers: from any thread or interrupt handler, at any time,
    /// any number of times, also after the executor returned. It never polls,
    /// blocks for long or panics.
    ///
    /// ```rust
    /// use pasts::prelude::*;
    ///
    /// let int = pasts::ThreadInterrupt::new();
    /// int.interrupt();
    /// int.wait_for(); // returns at once: the interrupt was remembered
    /// ```
    fn interrupt(&self);

    /// Sleep until [`interrupt`](Interrupt::interrupt) is called; may return
    /// spuriously. Called only by the executor that owns the interrupt,
    /// between two polls. **No lost wake-up:** an `interrupt()` after the
    /// previous `wait_for` returned (while the executor polls) is remembered
    /// (a flag, an event register, a semaphore count): the next `wait_for`
    /// returns at once.
    ///
    /// ```rust
    /// use pasts::prelude::*;
    ///
    /// static INT: pasts::ThreadInterrupt = pasts::ThreadInterrupt::new();
    ///
    /// let t = std::thread::spawn(|| INT.interrupt());
    /// INT.wait_for(); // returns once the other thread interrupted
    /// t.join().unwrap();
    /// ```
    fn wait_for(&self);

    /// Run `fut` to completion on the current context, sleeping in
    /// [`wait_for`](Interrupt::wait_for) whenever it is not ready.
    ///
    /// Needs no allocator: the waker points at `self`, so it stays sound
    /// after this call. A panic in `fut` unwinds out. Calls may nest; an
    /// inner call may consume the outer one's wake-up, so every call ends
    /// with one `interrupt()`.
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
        let raw = RawWaker::new((self as *const Self).cast(), &Wakers::<Self>::VTABLE);
        // SAFETY: the vtable's functions get `data`, a `&'static Self`, as
        // `wake` requires; `Self: Send + Sync` backs the waker's.
        let waker = unsafe { Waker::from_raw(raw) };
        run(|| self.wait_for(), &waker, fut)
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

/// The vtable of `block_on`'s waker: its data is a `&'static I`, so clone and
/// drop do nothing, and wake calls [`Interrupt::interrupt`].
struct Wakers<I>(PhantomData<I>);

impl<I: Interrupt> Wakers<I> {
    const VTABLE: RawWakerVTable = RawWakerVTable::new(Self::clone, Self::wake, Self::wake, drop);

    fn clone(data: *const ()) -> RawWaker {
        RawWaker::new(data, &Self::VTABLE)
    }

    /// # Safety
    ///
    /// `data` points to an `I` alive for the call.
    unsafe fn wake(data: *const ()) {
        // SAFETY: per the contract; `I: Sync`.
        unsafe { &*data.cast::<I>() }.interrupt();
    }
}
