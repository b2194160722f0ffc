//! A parent waker whose wake panics (inside a branch waker's wake) must not
//! leave the select stuck: a later poll by another task takes over, and the
//! next wake reaches that task. Runs under Miri.
#![cfg(feature = "std")]

mod common;
mod select_util;

use common::{poll, Counter};
use pasts::prelude::*;
use select_util::Board;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Poll, Wake, Waker};

/// A parent waker whose first wake panics; it counts the later ones.
#[derive(Default)]
struct Panicky(AtomicUsize);

impl Wake for Panicky {
    fn wake(self: Arc<Self>) {
        if self.0.fetch_add(1, Ordering::SeqCst) == 0 {
            panic!("the parent waker panics");
        }
    }
}

/// Poll a select with a panicking parent, let `wake` (a kept branch waker)
/// panic in it, then poll with another task: the next wake must reach that
/// task.
fn another_task_takes_over(wake: impl FnOnce(Waker)) {
    let board = Board::new(2);
    let first = Waker::from(Arc::new(Panicky::default()));
    let (second, b) = Counter::new();
    let mut fut = pin!(board.children::<2>().select());
    assert!(poll(fut.as_mut(), &first).is_pending());
    let kept = board.waker(1).expect("registered");
    assert!(catch_unwind(AssertUnwindSafe(|| wake(kept))).is_err());
    // Polled twice: the first may still find the old parent in use.
    assert!(poll(fut.as_mut(), &b).is_pending());
    assert!(poll(fut.as_mut(), &b).is_pending());
    let before = second.wakes();
    assert!(board.fire(0));
    assert!(second.wakes() > before, "the wake must reach the new task");
    assert_eq!(poll(fut.as_mut(), &b), Poll::Ready((0, 0)));
}

#[test]
fn panicking_parent_wake_does_not_stick() {
    another_task_takes_over(|kept| kept.wake_by_ref());
}

/// The same through a wake by value: the consumed waker's count is still
/// given up (under Miri, a leaked set fails the run).
#[test]
fn panicking_parent_wake_by_value_releases_the_waker() {
    another_task_takes_over(Waker::wake);
}
