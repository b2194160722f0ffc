//! [`Select`]: wait for the first of several futures, and know which one.
//! Owned futures are pinned as `schedule.rs` says, dropped when one wins.
#![allow(unsafe_code)]

use core::fmt;
use core::future::Future;
use core::pin::Pin;
use core::task::{ready, Context, Poll};

use crate::schedule::{poll_each, polled_after_completion, Branches, Schedule};

/// Wait for the first of several futures to finish: `.select().await` gives
/// `(index, output)` of the winner. Fair: each select starts at a
/// pseudo-random branch.
///
/// Implemented for:
/// - `[F; N]`, and `Vec<F>` (feature `alloc`): consumes the futures, `Unpin`
///   or not; the losers are dropped as soon as one finishes;
/// - tuples `(A, B, …)` of up to 12 futures of *different* types that share
///   one `Output` (no boxing);
/// - `&mut [F]` with `F: Future + Unpin`: the futures stay in place, so an
///   event loop can select again over the same sources (across rounds, see
///   [`Selector`](crate::Selector)).
///
/// Selecting over nothing (an empty array, slice or `Vec`) panics: it could
/// never finish.
///
/// ```rust
/// use pasts::prelude::*;
///
/// async fn async_identity_fn(arg: usize) -> usize {
///     arg
/// }
///
/// # pasts::block_on(async {
/// let (_, res) = [async_identity_fn(1), async_identity_fn(2)].select().await;
/// assert!(res == 1 || res == 2);
///
/// // Different future types, one output type:
/// let (i, word) = (async { "tuple" }, core::future::ready("ready")).select().await;
/// assert_eq!(word, ["tuple", "ready"][i]);
///
/// // Any number of futures, `Unpin` or not:
/// let (i, res) = vec![async_identity_fn(3), async_identity_fn(4)].select().await;
/// assert_eq!(res, i + 3);
/// # });
/// ```
///
/// # Waking
///
/// With `alloc` each branch gets its own waker, so after the first poll a
/// wake re-polls only the woken branches (the same in [`Join`](crate::Join),
/// [`Selector`](crate::Selector) and [`Tasks`](crate::Tasks)). These wakers
/// are lock-free: any thread may wake them, and so may a signal handler (with
/// `wake_by_ref`: dropping the last waker frees memory) if the task's own
/// waker, which a branch wake may call, allows it
/// ([`ThreadInterrupt`](crate::ThreadInterrupt)'s does not). Without `alloc`,
/// every poll polls every branch.
pub trait Select {
    /// The output of each future.
    type Output;

    /// A future of `(index, output)` of the first future to finish.
    ///
    /// ```rust
    /// use core::future::{pending, ready};
    /// use pasts::prelude::*;
    ///
    /// let mut sources = [ready(1), ready(2)];
    /// let (i, value) = pasts::block_on(sources.as_mut_slice().select());
    /// assert_eq!(value, i + 1);
    ///
    /// let (i, ()) = pasts::block_on((pending(), ready(())).select());
    /// assert_eq!(i, 1);
    /// ```
    fn select(self) -> impl Future<Output = (usize, Self::Output)> + fmt::Debug;
}

/// The future of [`Select::select`].
#[must_use = "futures do nothing unless you .await or poll them"]
struct SelectFuture<B> {
    /// Pinned (structurally); `None` once the select completed.
    branches: Option<B>,
    schedule: Schedule,
}

impl<B: Branches> SelectFuture<B> {
    #[inline]
    fn new(branches: B) -> Self {
        assert!(
            branches.len() != 0,
            "pasts: select over no futures can never finish: give it at least one future"
        );
        Self {
            branches: Some(branches),
            schedule: Schedule::default(),
        }
    }
}

impl<B: Branches> Future for SelectFuture<B> {
    type Output = (usize, B::Output);

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // SAFETY: only `branches` is pinned (structurally), and the type has
        // no `Drop` impl that could move it.
        let this = unsafe { self.get_unchecked_mut() };
        // SAFETY: `branches` is structurally pinned: never moved out, only
        // dropped in place by `Pin::set` below.
        let mut slot = unsafe { Pin::new_unchecked(&mut this.branches) };
        let Some(mut branches) = slot.as_mut().as_pin_mut() else {
            polled_after_completion("select");
        };
        let len = branches.len();
        let out = ready!(poll_each(&mut this.schedule, len, cx, |i, cx| {
            branches.as_mut().poll_at(i, cx, &mut 0).map(|v| (i, v))
        }));
        // Drop the losers now, not when the select future is dropped.
        slot.set(None);
        Poll::Ready(out)
    }
}

impl<B: Branches> fmt::Debug for SelectFuture<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Select")
            .field("branches", &self.branches.as_ref().map(B::len))
            .field("schedule", &self.schedule)
            .finish()
    }
}

impl<F: Future, const N: usize> Select for [F; N] {
    type Output = F::Output;

    #[inline]
    fn select(self) -> impl Future<Output = (usize, F::Output)> + fmt::Debug {
        SelectFuture::new(self)
    }
}

#[cfg(feature = "alloc")]
impl<F: Future> Select for alloc::vec::Vec<F> {
    type Output = F::Output;

    #[inline]
    fn select(self) -> impl Future<Output = (usize, F::Output)> + fmt::Debug {
        SelectFuture::new(crate::pinned::Pinned::new(self))
    }
}

impl<F: Future + Unpin> Select for &mut [F] {
    type Output = F::Output;

    #[inline]
    fn select(self) -> impl Future<Output = (usize, F::Output)> + fmt::Debug {
        SelectFuture::new(self)
    }
}

/// `Select` for a tuple: `tuple!(len; Type index, ...)`.
macro_rules! tuple {
    ($len:literal; $($F:ident $i:tt),+) => {
        impl<T, $($F: Future<Output = T>),+> Select for ($($F,)+) {
            type Output = T;

            #[inline]
            fn select(self) -> impl Future<Output = (usize, T)> + fmt::Debug {
                SelectFuture::new(self)
            }
        }
    };
}

crate::schedule::for_tuples!(tuple);
