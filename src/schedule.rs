//! Which branches a select or join polls, and in what order: with `alloc`,
//! the first poll sweeps all from a pseudo-random start, later polls only
//! the woken ones (`wake_set.rs`); without, every poll visits all.

use core::ops::ControlFlow;
use core::sync::atomic::{AtomicUsize, Ordering};
use core::task::{Context, Poll};

/// Seed of the start index of the next select or join (never 0).
static NEXT_START: AtomicUsize = AtomicUsize::new(1);

/// A pseudo-random start index in `0..len`, so no branch is always first
/// (a counter could give interleaved threads the same start every time).
#[inline]
fn next_start(len: usize) -> usize {
    // Load and store (targets without atomic RMW have them): a race only
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

/// The schedule of a one-shot select or join.
#[derive(Debug)]
pub(crate) struct Schedule {
    /// Made on the first poll (a combinator that is never polled costs no
    /// allocation).
    #[cfg(feature = "alloc")]
    set: Option<crate::wake_set::WakeSet>,
}

impl Schedule {
    pub(crate) const fn new() -> Self {
        Self {
            #[cfg(feature = "alloc")]
            set: None,
        }
    }

    /// Visit the branches in `0..len` that need a poll, until `visit`
    /// breaks (see `WakeSet::poll_each`).
    #[cfg(feature = "alloc")]
    #[inline]
    pub(crate) fn poll_each<R>(
        &mut self,
        len: usize,
        cx: &mut Context<'_>,
        visit: impl FnMut(usize, &mut Context<'_>) -> ControlFlow<R>,
    ) -> Poll<R> {
        let set = self.set.get_or_insert_with(|| {
            let mut set = crate::wake_set::WakeSet::new(len);
            set.sweep(next_start(len), len);
            set
        });
        set.poll_each(len, cx, visit)
    }

    /// Visit branches `0..len` once each, until `visit` breaks.
    #[cfg(not(feature = "alloc"))]
    #[inline]
    pub(crate) fn poll_each<R>(
        &mut self,
        len: usize,
        cx: &mut Context<'_>,
        mut visit: impl FnMut(usize, &mut Context<'_>) -> ControlFlow<R>,
    ) -> Poll<R> {
        let mut i = next_start(len);
        for _ in 0..len {
            if let ControlFlow::Break(out) = visit(i, cx) {
                return Poll::Ready(out);
            }
            i = if i + 1 == len { 0 } else { i + 1 };
        }
        Poll::Pending
    }
}
