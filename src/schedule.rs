//! What select and join share: branches polled by index, structurally pinned
//! (polled and dropped in place, never moved), and the schedule of the polls:
//! with `alloc`, the first poll sweeps all from a pseudo-random start, later
//! polls only the woken ones (`wake_set.rs`); without, every poll visits all.
#![allow(unsafe_code)]

use core::future::Future;
use core::pin::Pin;
use core::sync::atomic::{AtomicUsize, Ordering};
use core::task::{Context, Poll};

/// Seed of the start index of the next select or join (never 0).
static NEXT_START: AtomicUsize = AtomicUsize::new(1);

/// A pseudo-random start index in `0..len`, so no branch is always first
/// (a counter could give interleaved threads the same start every time).
#[inline]
fn next_start(len: usize) -> usize {
    // Load and store, not RMW (which some targets lack): a race only
    // repeats a start.
    let mut x = NEXT_START.load(Ordering::Relaxed);
    // xorshift (Marsaglia): each step is invertible, so never 0 from non-0.
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    NEXT_START.store(x, Ordering::Relaxed);
    x % len.max(1)
}

/// A future of the crate (`what`) polled again after it returned `Ready`:
/// a bug in the caller.
#[cold]
#[track_caller]
pub(crate) fn polled_after_completion(what: &str) -> ! {
    panic!("pasts: a {what} was polled after it completed; poll a future only until it returns `Ready`")
}

/// A branch of a select (a future) or of a join (its slot, which counts
/// itself off `left` before it drops its finished future).
pub(crate) trait Branch {
    type Output;

    fn poll_one(self: Pin<&mut Self>, cx: &mut Context<'_>, left: &mut usize)
        -> Poll<Self::Output>;
}

impl<F: Future> Branch for F {
    type Output = F::Output;

    #[inline]
    fn poll_one(self: Pin<&mut Self>, cx: &mut Context<'_>, _: &mut usize) -> Poll<F::Output> {
        self.poll(cx)
    }
}

/// Branches of one output type, polled by index: an array, a `Pinned`, a
/// slice of `Unpin` branches, or a tuple.
pub(crate) trait Branches {
    type Output;

    fn len(&self) -> usize;

    fn poll_at(
        self: Pin<&mut Self>,
        i: usize,
        cx: &mut Context<'_>,
        left: &mut usize,
    ) -> Poll<Self::Output>;
}

/// Element `i` of a pinned slice, pinned.
#[inline]
pub(crate) fn pin_index<T>(slice: Pin<&mut [T]>, i: usize) -> Pin<&mut T> {
    // SAFETY: the elements of a pinned slice are structurally pinned.
    unsafe { slice.map_unchecked_mut(|items| &mut items[i]) }
}

impl<T, B: Branch<Output = T>, const N: usize> Branches for [B; N] {
    type Output = T;

    fn len(&self) -> usize {
        N
    }

    #[inline]
    fn poll_at(self: Pin<&mut Self>, i: usize, cx: &mut Context<'_>, left: &mut usize) -> Poll<T> {
        pin_index(self, i).poll_one(cx, left)
    }
}

#[cfg(feature = "alloc")]
impl<T, B: Branch<Output = T>> Branches for crate::pinned::Pinned<B> {
    type Output = T;

    fn len(&self) -> usize {
        self.len()
    }

    #[inline]
    fn poll_at(self: Pin<&mut Self>, i: usize, cx: &mut Context<'_>, left: &mut usize) -> Poll<T> {
        self.get_mut().get(i).poll_one(cx, left)
    }
}

impl<T, B: Branch<Output = T> + Unpin> Branches for &mut [B] {
    type Output = T;

    fn len(&self) -> usize {
        <[B]>::len(self)
    }

    #[inline]
    fn poll_at(self: Pin<&mut Self>, i: usize, cx: &mut Context<'_>, left: &mut usize) -> Poll<T> {
        Pin::new(&mut self.get_mut()[i]).poll_one(cx, left)
    }
}

/// `Branches` for a tuple: `tuple!(len; Type index, ...)`.
macro_rules! tuple {
    ($len:literal; $($B:ident $i:tt),+) => {
        impl<T, $($B: Branch<Output = T>),+> Branches for ($($B,)+) {
            type Output = T;

            fn len(&self) -> usize {
                $len
            }

            #[inline]
            fn poll_at(self: Pin<&mut Self>, i: usize, cx: &mut Context<'_>, left: &mut usize) -> Poll<T> {
                // SAFETY: structurally pinned fields.
                let this = unsafe { self.get_unchecked_mut() };
                match i {
                    // SAFETY: a pinned field (see above).
                    $($i => unsafe { Pin::new_unchecked(&mut this.$i) }.poll_one(cx, left),)+
                    _ => Poll::Pending,
                }
            }
        }
    };
}

/// Invoke `$m!(len; Type index, ...)` for tuples of 1 to 12 futures.
macro_rules! for_tuples {
    ($m:ident) => {
        $m!(1; A 0);
        $m!(2; A 0, B 1);
        $m!(3; A 0, B 1, C 2);
        $m!(4; A 0, B 1, C 2, D 3);
        $m!(5; A 0, B 1, C 2, D 3, E 4);
        $m!(6; A 0, B 1, C 2, D 3, E 4, F 5);
        $m!(7; A 0, B 1, C 2, D 3, E 4, F 5, G 6);
        $m!(8; A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7);
        $m!(9; A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8);
        $m!(10; A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9);
        $m!(11; A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10);
        $m!(12; A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10, L 11);
    };
}
pub(crate) use for_tuples;

for_tuples!(tuple);

/// Which branches a select or join polls next: with `alloc`, per-branch
/// wakers, made on the first poll (a combinator that is never polled costs
/// no allocation).
#[cfg(feature = "alloc")]
pub(crate) type Schedule = Option<crate::wake_set::WakeSet>;
#[cfg(not(feature = "alloc"))]
pub(crate) type Schedule = ();

/// Visit the branches in `0..len` that need a poll, until `visit` is ready
/// (see `WakeSet::poll_each`).
#[cfg(feature = "alloc")]
#[inline]
pub(crate) fn poll_each<R>(
    schedule: &mut Schedule,
    len: usize,
    cx: &mut Context<'_>,
    visit: impl FnMut(usize, &mut Context<'_>) -> Poll<R>,
) -> Poll<R> {
    let set = schedule.get_or_insert_with(|| crate::wake_set::WakeSet::new(len, next_start(len)));
    set.poll_each(len, cx, visit)
}

/// Visit branches `0..len` once each, until `visit` is ready.
#[cfg(not(feature = "alloc"))]
#[inline]
pub(crate) fn poll_each<R>(
    _: &mut Schedule,
    len: usize,
    cx: &mut Context<'_>,
    mut visit: impl FnMut(usize, &mut Context<'_>) -> Poll<R>,
) -> Poll<R> {
    let start = next_start(len);
    for i in (start..len).chain(0..start) {
        if let Poll::Ready(out) = visit(i, cx) {
            return Poll::Ready(out);
        }
    }
    Poll::Pending
}
