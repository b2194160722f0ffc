//! [`Join`]: wait for all of several futures and collect their outputs.
//!
//! Each future lives in a [`Slot`], structurally pinned inside the join
//! future (see `schedule.rs`), dropped in place by overwriting the slot with
//! its output; only an output is ever moved out.
#![allow(unsafe_code)]

#[cfg(feature = "alloc")]
use crate::pinned::Pinned;
#[cfg(feature = "alloc")]
use alloc::vec::Vec;
use core::fmt;
use core::future::Future;
use core::mem;
use core::pin::Pin;
use core::task::{ready, Context, Poll};

use crate::schedule::{pin_index, polled_after_completion, Branch, Branches, Combinator};

/// Wait for all of several futures: `.join().await` gives every output, in
/// the order of the futures.
///
/// Implemented for:
/// - `[F; N]`, giving `[F::Output; N]`;
/// - tuples `(A, B, …)` of up to 12 futures, giving `(A::Output, B::Output,
///   …)`;
/// - `Vec<F>` (feature `alloc`), giving `Vec<F::Output>`.
///
/// Each future is dropped as soon as it finishes, and re-polled only when
/// woken (see [`Select`'s waking](crate::Select#waking)).
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

/// A future until it finishes, then its output.
enum Slot<F: Future> {
    Running(F),
    Done(F::Output),
    Taken,
}

impl<F: Future> Branch for Slot<F> {
    type Output = ();

    /// Poll the future if it still runs; once it finished (and counted
    /// itself off), drop it in place.
    #[inline]
    fn poll_one(self: Pin<&mut Self>, cx: &mut Context<'_>, left: &mut usize) -> Poll<()> {
        // SAFETY: `Running` is structurally pinned: its future is never
        // moved; the assignment below drops it in place.
        let this = unsafe { self.get_unchecked_mut() };
        let Slot::Running(fut) = this else {
            return Poll::Pending;
        };
        // SAFETY: the future of a pinned slot (see above).
        let output = ready!(unsafe { Pin::new_unchecked(fut) }.poll_one(cx, left));
        // Should the drop panic, the output is stored all the same.
        *this = Slot::Done(output);
        Poll::Ready(())
    }
}

impl<F: Future> Slot<F> {
    /// Move the output out.
    fn take(self: Pin<&mut Self>) -> F::Output {
        // SAFETY: only a `Done` slot is moved out of, and an output is not
        // pinned; a `Running` slot is left untouched.
        let this = unsafe { self.get_unchecked_mut() };
        if let Slot::Done(_) = this {
            if let Slot::Done(output) = mem::replace(this, Slot::Taken) {
                return output;
            }
        }
        // Not reached: the outputs are taken once, when every slot is done.
        polled_after_completion("Join")
    }
}

/// The future of [`Join::join`]: when every slot is done, `outputs` takes
/// their outputs.
#[inline]
fn join<S: Branches<Output = ()>, T>(
    slots: S,
    mut outputs: impl FnMut(Pin<&mut S>) -> T,
) -> impl Future<Output = T> + fmt::Debug {
    let len = slots.len();
    Combinator::new("Join", slots, len, move |slots, _| outputs(slots))
}

impl<F: Future, const N: usize> Join for [F; N] {
    type Output = [F::Output; N];

    #[inline]
    fn join(self) -> impl Future<Output = [F::Output; N]> + fmt::Debug {
        join(self.map(Slot::Running), |slots| {
            let mut slots: Pin<&mut [Slot<F>]> = slots;
            core::array::from_fn(|i| pin_index(slots.as_mut(), i).take())
        })
    }
}

#[cfg(feature = "alloc")]
impl<F: Future> Join for Vec<F> {
    type Output = Vec<F::Output>;

    #[inline]
    fn join(self) -> impl Future<Output = Vec<F::Output>> + fmt::Debug {
        let slots = Pinned::new(self.into_iter().map(Slot::Running).collect());
        join(slots, |slots| {
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
                join(($(Slot::Running(self.$i),)+), |slots| {
                    // SAFETY: structurally pinned fields.
                    let slots = unsafe { Pin::get_unchecked_mut(slots) };
                    ($({
                        // SAFETY: a pinned field (see above).
                        unsafe { Pin::new_unchecked(&mut slots.$i) }.take()
                    },)+)
                })
            }
        }
    };
}

crate::schedule::for_tuples!(tuple);
