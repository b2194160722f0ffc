//! Which branches a select or join polls, and in what order.
//!
//! With `alloc`, every branch is polled with its own waker (see
//! `wake_set.rs`) and a poll visits only the branches woken since they were
//! last polled: all of them on the first poll, then just the woken ones.
//! Without `alloc` there is nowhere to keep per-branch wakers: every poll
//! visits every branch with the parent's waker.
//!
//! Fairness: a one-shot select starts at a pseudo-random index, so no branch is
//! always first; a woken branch waits behind those woken before it.

use core::ops::ControlFlow;
use core::sync::atomic::{AtomicUsize, Ordering};
use core::task::{Context, Poll};

#[cfg(feature = "alloc")]
pub(crate) use woken::{Cursor, Schedule};

#[cfg(not(feature = "alloc"))]
pub(crate) use every::Schedule;

/// Seed of the start index of the next select or join (never 0).
static NEXT_START: AtomicUsize = AtomicUsize::new(1);

/// A pseudo-random start index in `0..len`, so no branch is always first.
///
/// Pseudo-random rather than counting up: threads that interleave their
/// selects would each see every other count and could always start at the
/// same branch.
#[inline]
fn next_start(len: usize) -> usize {
    // A plain load and store, not a read-modify-write (cheap, and available
    // on targets without atomic RMW): a race between threads only repeats a
    // start, which costs a little fairness and nothing else.
    let mut x = NEXT_START.load(Ordering::Relaxed);
    // xorshift (Marsaglia): each step is invertible, so never 0 from non-0.
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    NEXT_START.store(x, Ordering::Relaxed);
    x % len.max(1)
}

/// A select or join (`what`) polled again after it returned `Ready`: a bug
/// in the caller (the `Future` contract allows a panic), reported with the
/// fix.
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

#[cfg(feature = "alloc")]
mod woken {
    use super::{next_start, Context, ControlFlow, Poll};
    use crate::wake_set::{WakeSet, BITS};

    /// Where a walk over the woken bits stands: the summary word and the
    /// bitset word being walked, with their bits not visited yet.
    #[derive(Debug)]
    pub(crate) struct Cursor {
        summary: usize,
        summary_bits: usize,
        word: usize,
        /// The bits of `word` not visited yet, rotated right by `rot`.
        word_bits: usize,
        /// With a single bitset word, the walk's start branch (each take
        /// of the word is walked from there, round to just below it); 0
        /// with more words.
        rot: u32,
    }

    impl Cursor {
        /// A cursor whose walk starts at branch `start`: the woken bits
        /// are taken now, except (with more than one word) those below
        /// `start`, which are left in the set and come last.
        #[inline(always)]
        pub(crate) fn begin(set: &WakeSet, start: usize) -> Self {
            if set.summaries() == 0 {
                let rot = (start % BITS) as u32;
                return Self {
                    summary: 0,
                    summary_bits: 0,
                    word: 0,
                    word_bits: set.split_word(0, 0).rotate_right(rot),
                    rot,
                };
            }
            let word = start / BITS;
            let below = (1 << (start % BITS)) - 1;
            let word_bits = set.split_word(word, below);
            // The words after `word` are walked now; `word` itself (for the
            // bits left in it) and the ones before it, later.
            let bit = 1 << (word % BITS);
            let summary_bits = set.split_summary(word / BITS, bit | (bit - 1));
            Self {
                summary: word / BITS,
                summary_bits,
                word,
                word_bits,
                rot: 0,
            }
        }

        /// Visit the woken branches of `set` below `len`, each at most once
        /// per `len` visits, until `visit` breaks or none is left woken.
        ///
        /// Bits taken but not visited yet stay in the cursor for the next
        /// call, so a branch woken later waits behind them (fairness).
        #[inline]
        pub(crate) fn poll_each<R>(
            &mut self,
            set: &mut WakeSet,
            len: usize,
            cx: &mut Context<'_>,
            mut visit: impl FnMut(usize, &mut Context<'_>) -> ControlFlow<R>,
        ) -> Poll<R> {
            set.register(cx.waker());
            // A branch that wakes itself on every poll must not keep this
            // poll going forever: at most `len` visits, then yield.
            let mut budget = len;
            loop {
                // The bits being walked live in a local: `self.word_bits`
                // is only written back when leaving (should a branch panic,
                // the cursor keeps them all: visited again, not lost).
                let mut bits = self.word_bits;
                while bits != 0 {
                    let bit = (bits.trailing_zeros() + self.rot) as usize % BITS;
                    let j = self.word * BITS + bit;
                    // A bit past `len` is a stale wake of a removed branch.
                    if j < len {
                        if budget == 0 {
                            // Leave the bit for the next poll, and ask for one.
                            self.word_bits = bits;
                            cx.waker().wake_by_ref();
                            return Poll::Pending;
                        }
                        budget -= 1;
                        let flow =
                            set.with_waker(j, |waker| visit(j, &mut Context::from_waker(waker)));
                        if let ControlFlow::Break(out) = flow {
                            self.word_bits = bits & (bits - 1);
                            return Poll::Ready(out);
                        }
                    }
                    bits &= bits - 1;
                }
                self.word_bits = 0;
                if !self.refill(set) {
                    return Poll::Pending;
                }
            }
        }

        /// Take the next woken bits into `word_bits`; `false` if none.
        #[inline(always)]
        fn refill(&mut self, set: &WakeSet) -> bool {
            let summaries = set.summaries();
            if summaries == 0 {
                self.word_bits = set.take_single().rotate_right(self.rot);
                return self.word_bits != 0;
            }
            // Summary words found empty in a row: all of them means done.
            let mut empty = 0;
            loop {
                if self.summary_bits != 0 {
                    self.word = self.summary * BITS + self.summary_bits.trailing_zeros() as usize;
                    self.summary_bits &= self.summary_bits - 1;
                    self.word_bits = set.take_word(self.word);
                    if self.word_bits != 0 {
                        return true;
                    }
                } else if empty == summaries {
                    return false;
                } else {
                    self.summary = if self.summary + 1 == summaries {
                        0
                    } else {
                        self.summary + 1
                    };
                    self.summary_bits = set.take_summary(self.summary);
                    empty = if self.summary_bits == 0 { empty + 1 } else { 0 };
                }
            }
        }
    }

    /// The schedule of a one-shot select or join: its wake set is made on
    /// the first poll, with every branch woken and the walk starting at a
    /// pseudo-random branch.
    #[derive(Debug)]
    pub(crate) struct Schedule {
        set: Option<(WakeSet, Cursor)>,
    }

    impl Schedule {
        pub(crate) const fn new() -> Self {
            Self { set: None }
        }

        /// Visit the branches in `0..len` that need a poll (see
        /// [`Cursor::poll_each`]).
        #[inline]
        pub(crate) fn poll_each<R>(
            &mut self,
            len: usize,
            cx: &mut Context<'_>,
            visit: impl FnMut(usize, &mut Context<'_>) -> ControlFlow<R>,
        ) -> Poll<R> {
            let place = self as *const Self as usize;
            let (set, cursor) = self.set.get_or_insert_with(|| {
                let set = WakeSet::new(len, len, place);
                let cursor = Cursor::begin(&set, next_start(len));
                (set, cursor)
            });
            cursor.poll_each(set, len, cx, visit)
        }
    }
}

#[cfg(not(feature = "alloc"))]
mod every {
    use super::{next_start, Context, ControlFlow, Poll};

    /// Without `alloc`: every poll visits every branch, from a rotating
    /// start, with the parent's waker.
    #[derive(Debug)]
    pub(crate) struct Schedule;

    impl Schedule {
        pub(crate) const fn new() -> Self {
            Self
        }

        /// Visit branches `0..len` once each, until `visit` breaks.
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
}
