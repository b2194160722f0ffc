//! [`Join`]: wait for all of several futures and collect their outputs.
//!
//! Pinning: each future lives in a [`Slot`] pinned in place inside the join
//! future (an array, a tuple, or a `Pinned` slice).
//! A running future is polled through a pinned reference to its slot and,
//! once finished, dropped in place by overwriting the slot with its output;
//! only an output is ever moved out. That is the only unsafe here.
#![allow(unsafe_code)]

#[cfg(feature = "alloc")]
use crate::pinned::Pinned;
#[cfg(feature = "alloc")]
use alloc::vec::Vec;
use core::fmt;
use core::future::Future;
use core::mem;
use core::ops::ControlFlow;
use core::pin::Pin;
use core::task::{Context, Poll};

use crate::schedule::Schedule;

/// Wait for all of several futures: `.join().await` gives every output, in
/// the order of the futures.
///
/// Implemented for:
/// - `[F; N]`, giving `[F::Output; N]`;
/// - tuples `(A, B, …)` of up to 12 futures, giving `(A::Output, B::Output,
///   …)`;
/// - `Vec<F>` (feature `alloc`), giving `Vec<F::Output>`.
///
/// Each future is dropped as soon as it finishes. With the `alloc` feature
/// each future gets its own waker (as for [`Select`](crate::Select)), so a
/// wake re-polls only the futures that were woken: a join of N futures
/// polls each about twice, not N times. Without `alloc`, every poll polls
/// every unfinished future.
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

impl<F: Future> Slot<F> {
    /// Poll the future if it still runs; if it finished, count it off
    /// `left` and drop it (counted first: a destructor that panics must not
    /// leave the join waiting for it).
    #[inline]
    fn poll_slot(self: Pin<&mut Self>, cx: &mut Context<'_>, left: &mut usize) {
        // SAFETY: `Running` is structurally pinned: its future is never
        // moved; the assignment below drops it in place.
        let this = unsafe { self.get_unchecked_mut() };
        let Slot::Running(fut) = this else {
            return;
        };
        // SAFETY: the future of a pinned slot (see above).
        if let Poll::Ready(output) = unsafe { Pin::new_unchecked(fut) }.poll(cx) {
            *left -= 1;
            // Should the drop panic, the output is stored all the same.
            *this = Slot::Done(output);
        }
    }

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
        // Not reached: `JoinFuture` takes the outputs once, when every slot
        // is `Done`, and a second poll stops at its `finished` check first.
        crate::schedule::polled_after_completion("join")
    }
}

/// The element `i` of a pinned slice, pinned.
#[inline]
fn pin_index<T>(slice: Pin<&mut [T]>, i: usize) -> Pin<&mut T> {
    // SAFETY: the elements of a pinned slice are structurally pinned here:
    // joins never move an element, only overwrite it in place.
    unsafe { slice.map_unchecked_mut(|slots| &mut slots[i]) }
}

/// Slots that a join polls one at a time, by index.
trait Slots {
    type Output;

    fn len(&self) -> usize;

    /// Poll slot `i` (see [`Slot::poll_slot`]).
    fn poll_slot(self: Pin<&mut Self>, i: usize, cx: &mut Context<'_>, left: &mut usize);

    /// Every output (all slots are done).
    fn take(self: Pin<&mut Self>) -> Self::Output;
}

/// The future of [`Join::join`].
#[must_use = "futures do nothing unless you .await or poll them"]
struct JoinFuture<S> {
    /// Pinned (structurally).
    slots: S,
    schedule: Schedule,
    /// Futures still running.
    left: usize,
    /// The outputs were handed out.
    finished: bool,
}

impl<S: Slots> JoinFuture<S> {
    #[inline]
    fn new(slots: S) -> Self {
        Self {
            left: slots.len(),
            slots,
            schedule: Schedule::new(),
            finished: false,
        }
    }
}

impl<S: Slots> Future for JoinFuture<S> {
    type Output = S::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<S::Output> {
        // SAFETY: only `slots` is pinned (structurally, see the module docs);
        // the other fields are plain data, and the type has no `Drop` impl.
        let this = unsafe { self.get_unchecked_mut() };
        // SAFETY: `slots` is structurally pinned: never moved.
        let mut slots = unsafe { Pin::new_unchecked(&mut this.slots) };
        let left = &mut this.left;
        if *left > 0 {
            let len = slots.len();
            let all = this.schedule.poll_each(len, cx, |i, cx| {
                slots.as_mut().poll_slot(i, cx, left);
                match *left {
                    0 => ControlFlow::Break(()),
                    _ => ControlFlow::Continue(()),
                }
            });
            if all.is_pending() {
                return Poll::Pending;
            }
        }
        if mem::replace(&mut this.finished, true) {
            crate::schedule::polled_after_completion("join");
        }
        Poll::Ready(slots.take())
    }
}

impl<S: Slots> fmt::Debug for JoinFuture<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Join")
            .field("len", &self.slots.len())
            .field("left", &self.left)
            .field("schedule", &self.schedule)
            .finish()
    }
}

impl<F: Future, const N: usize> Slots for [Slot<F>; N] {
    type Output = [F::Output; N];

    fn len(&self) -> usize {
        N
    }

    #[inline]
    fn poll_slot(self: Pin<&mut Self>, i: usize, cx: &mut Context<'_>, left: &mut usize) {
        pin_index(self, i).poll_slot(cx, left);
    }

    fn take(self: Pin<&mut Self>) -> [F::Output; N] {
        let mut slots: Pin<&mut [Slot<F>]> = self;
        core::array::from_fn(|i| pin_index(slots.as_mut(), i).take())
    }
}

impl<F: Future, const N: usize> Join for [F; N] {
    type Output = [F::Output; N];

    #[inline]
    fn join(self) -> impl Future<Output = [F::Output; N]> + fmt::Debug {
        JoinFuture::new(self.map(Slot::Running))
    }
}

#[cfg(feature = "alloc")]
impl<F: Future> Slots for Pinned<Slot<F>> {
    type Output = Vec<F::Output>;

    fn len(&self) -> usize {
        self.len()
    }

    #[inline]
    fn poll_slot(self: Pin<&mut Self>, i: usize, cx: &mut Context<'_>, left: &mut usize) {
        self.get_mut().get(i).poll_slot(cx, left);
    }

    fn take(self: Pin<&mut Self>) -> Vec<F::Output> {
        let slots = self.get_mut();
        (0..slots.len()).map(|i| slots.get(i).take()).collect()
    }
}

#[cfg(feature = "alloc")]
impl<F: Future> Join for Vec<F> {
    type Output = Vec<F::Output>;

    #[inline]
    fn join(self) -> impl Future<Output = Vec<F::Output>> + fmt::Debug {
        JoinFuture::new(Pinned::new(self.into_iter().map(Slot::Running).collect()))
    }
}

/// `Slots` and `Join` for a tuple: `tuple!(len; Type index, ...)`.
macro_rules! tuple {
    ($len:literal; $($F:ident $i:tt),+) => {
        impl<$($F: Future),+> Slots for ($(Slot<$F>,)+) {
            type Output = ($($F::Output,)+);

            fn len(&self) -> usize {
                $len
            }

            #[inline]
            fn poll_slot(self: Pin<&mut Self>, i: usize, cx: &mut Context<'_>, left: &mut usize) {
                // SAFETY: the fields of a pinned tuple are structurally
                // pinned: no slot is ever moved out of it.
                let this = unsafe { self.get_unchecked_mut() };
                match i {
                    $($i => {
                        // SAFETY: a field of the pinned tuple (see above).
                        unsafe { Pin::new_unchecked(&mut this.$i) }.poll_slot(cx, left)
                    })+
                    _ => {}
                }
            }

            fn take(self: Pin<&mut Self>) -> Self::Output {
                // SAFETY: as in `poll_slot`.
                let this = unsafe { self.get_unchecked_mut() };
                ($({
                    // SAFETY: a field of the pinned tuple (see above).
                    unsafe { Pin::new_unchecked(&mut this.$i) }.take()
                },)+)
            }
        }

        impl<$($F: Future),+> Join for ($($F,)+) {
            type Output = ($($F::Output,)+);

            #[inline]
            fn join(self) -> impl Future<Output = Self::Output> + fmt::Debug {
                JoinFuture::new(($(Slot::Running(self.$i),)+))
            }
        }
    };
}

crate::schedule::for_tuples!(tuple);
