//! [`Join`]: wait for all of several futures and collect their outputs.
//! Each future lives in a [`Slot`], pinned as `schedule.rs` says, dropped by
//! overwriting the slot with its output; only an output is moved out.
#![allow(unsafe_code)]

use core::fmt;
use core::future::Future;
use core::pin::Pin;
use core::task::{ready, Context, Poll};

use crate::schedule::{pin_index, poll_each, polled_after_completion, Branch, Branches, Schedule};

/// Wait for all of several futures: `.join().await` gives every output, in
/// the order and shape of the futures: `[F; N]`, tuples of up to 12 futures,
/// or `Vec<F>` (feature `alloc`). Each future is dropped as soon as it
/// finishes, and re-polled only when woken
/// ([`Select`'s waking](crate::Select#waking)).
///
/// ```rust
/// use pasts::prelude::*;
///
/// async fn double(x: u32) -> u32 {
///     2 * x
/// }
///
/// # pasts::block_on(async {
/// assert_eq!([double(1), double(2)].join().await, [2, 4]);
/// assert_eq!((double(3), async { "four" }).join().await, (6, "four"));
/// assert_eq!(vec![double(5)].join().await, vec![10]);
/// # });
/// ```
pub trait Join {
    /// The outputs: `[T; N]`, a tuple of outputs, or `Vec<T>`.
    type Output;

    /// A future of every output, once all futures finished.
    ///
    /// ```rust
    /// use core::future::ready;
    /// use pasts::prelude::*;
    ///
    /// let outputs = pasts::block_on([ready('a'), ready('b')].join());
    /// assert_eq!(outputs, ['a', 'b']);
    /// ```
    fn join(self) -> impl Future<Output = Self::Output> + fmt::Debug;
}

/// A future until it finishes, then its output until taken.
enum Slot<F: Future> {
    Running(F),
    Done(Option<F::Output>),
}

impl<F: Future> Branch for Slot<F> {
    type Output = ();

    /// Poll the future if it still runs; once it finished, count it off
    /// `left` first (should its drop panic), then drop it.
    #[inline]
    fn poll_one(self: Pin<&mut Self>, cx: &mut Context<'_>, left: &mut usize) -> Poll<()> {
        // SAFETY: `Running` is structurally pinned: its future is never
        // moved; the assignment below drops it in place.
        let this = unsafe { self.get_unchecked_mut() };
        let Slot::Running(fut) = this else {
            return Poll::Pending;
        };
        // SAFETY: the future of a pinned slot (see above).
        let output = ready!(unsafe { Pin::new_unchecked(fut) }.poll(cx));
        *left -= 1;
        // Should the drop panic, the output is stored all the same.
        *this = Slot::Done(Some(output));
        Poll::Ready(())
    }
}

impl<F: Future> Slot<F> {
    /// Move the output out.
    fn take(self: Pin<&mut Self>) -> F::Output {
        // SAFETY: only an output, which is not pinned, is moved out.
        let output = match unsafe { self.get_unchecked_mut() } {
            Slot::Done(output) => output.take(),
            Slot::Running(_) => None,
        };
        // `None` is not reached: the outputs are taken once, all done.
        output.unwrap_or_else(|| polled_after_completion("join"))
    }
}

/// The future of [`Join::join`].
#[must_use = "futures do nothing unless you .await or poll them"]
struct JoinFuture<S, G> {
    /// Pinned (structurally).
    slots: S,
    schedule: Schedule,
    /// Futures still running.
    left: usize,
    /// Takes the outputs out of the slots; `None` once it did.
    outputs: Option<G>,
}

impl<S: Branches, T, G: FnOnce(Pin<&mut S>) -> T> JoinFuture<S, G> {
    #[inline]
    fn new(slots: S, outputs: G) -> Self {
        Self {
            left: slots.len(),
            slots,
            schedule: Schedule::default(),
            outputs: Some(outputs),
        }
    }
}

impl<S: Branches, T, G: FnOnce(Pin<&mut S>) -> T> Future for JoinFuture<S, G> {
    type Output = T;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        // SAFETY: only `slots` is pinned (structurally), and the type has no
        // `Drop` impl.
        let this = unsafe { self.get_unchecked_mut() };
        // SAFETY: `slots` is structurally pinned: never moved.
        let mut slots = unsafe { Pin::new_unchecked(&mut this.slots) };
        let left = &mut this.left;
        // Skipped once all finished (the last drop may have panicked).
        if *left > 0 {
            ready!(poll_each(&mut this.schedule, slots.len(), cx, |i, cx| {
                let _ = slots.as_mut().poll_at(i, cx, left);
                match *left {
                    0 => Poll::Ready(()),
                    _ => Poll::Pending,
                }
            }));
        }
        match this.outputs.take() {
            Some(outputs) => Poll::Ready(outputs(slots)),
            None => polled_after_completion("join"),
        }
    }
}

impl<S: Branches, G> fmt::Debug for JoinFuture<S, G> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Join")
            .field("len", &self.slots.len())
            .field("left", &self.left)
            .field("schedule", &self.schedule)
            .finish()
    }
}

impl<F: Future, const N: usize> Join for [F; N] {
    type Output = [F::Output; N];

    #[inline]
    fn join(self) -> impl Future<Output = [F::Output; N]> + fmt::Debug {
        JoinFuture::new(self.map(Slot::Running), |slots| {
            let mut slots: Pin<&mut [Slot<F>]> = slots;
            core::array::from_fn(|i| pin_index(slots.as_mut(), i).take())
        })
    }
}

#[cfg(feature = "alloc")]
impl<F: Future> Join for alloc::vec::Vec<F> {
    type Output = alloc::vec::Vec<F::Output>;

    #[inline]
    fn join(self) -> impl Future<Output = Self::Output> + fmt::Debug {
        let slots = crate::pinned::Pinned::new(self.into_iter().map(Slot::Running).collect());
        JoinFuture::new(slots, |slots| {
            let slots = slots.get_mut();
            (0..slots.len()).map(|i| slots.get(i).take()).collect()
        })
    }
}

/// `Join` for a tuple: `tuple!(len; Type index, ...)`.
macro_rules! tuple {
    ($len:literal; $($F:ident $i:tt),+) => {
        impl<$($F: Future),+> Join for ($($F,)+) {
            type Output = ($($F::Output,)+);

            #[inline]
            fn join(self) -> impl Future<Output = Self::Output> + fmt::Debug {
                JoinFuture::new(($(Slot::Running(self.$i),)+), |slots| {
                    // SAFETY: structurally pinned fields.
                    let slots = unsafe { Pin::get_unchecked_mut(slots) };
                    // SAFETY: a pinned field (see above).
                    ($(unsafe { Pin::new_unchecked(&mut slots.$i) }.take(),)+)
                })
            }
        }
    };
}

crate::schedule::for_tuples!(tuple);
