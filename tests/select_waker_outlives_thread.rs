//! A branch waker that outlives the thread whose per-thread spare cache
//! kept its set (the cache is torn down with the thread) stays sound to
//! wake, clone and drop. Runs under Miri.
#![cfg(feature = "std")]

mod common;
mod select_util;

use common::{poll, Counter};
use pasts::prelude::*;
use select_util::Board;
use std::pin::pin;
use std::task::Poll;

#[test]
fn waker_outlives_the_spare_cache_of_its_thread() {
    let (kept, parent) = std::thread::spawn(|| {
        let board = Board::new(2);
        let (parent, waker) = Counter::new();
        {
            let mut fut = pin!(board.children::<2>().select());
            assert!(poll(fut.as_mut(), &waker).is_pending());
            assert!(board.fire(0));
            assert_eq!(poll(fut.as_mut(), &waker), Poll::Ready((0, 0)));
        }
        // The select is gone: its set sits in this thread's spare cache,
        // which is torn down when the thread ends.
        (board.waker(1).expect("registered"), parent)
    })
    .join()
    .unwrap();
    let before = parent.wakes();
    let clone = kept.clone();
    kept.wake();
    assert!(parent.wakes() <= before + 1, "at most one spurious wake");
    clone.wake_by_ref();
    drop(clone);
}
