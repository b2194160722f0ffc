//! A branch waker that outlives the thread whose pool kept its set (the
//! pool goes to the next thread) stays sound to wake, clone and drop, also
//! while later threads reuse its set. Runs under Miri (which would report a
//! use after free).
#![cfg(feature = "std")]

mod common;
mod select_util;

use common::{poll, Counter};
use pasts::prelude::*;
use select_util::{size, Board};
use std::pin::pin;
use std::task::Poll;

#[test]
fn waker_outlives_the_pool_of_its_thread() {
    let (kept, parent) = std::thread::spawn(|| {
        let board = Board::new(2);
        let (parent, waker) = Counter::new();
        {
            let mut fut = pin!(board.children::<2>().select());
            assert!(poll(fut.as_mut(), &waker).is_pending());
            assert!(board.fire(0));
            assert_eq!(poll(fut.as_mut(), &waker), Poll::Ready((0, 0)));
        }
        // The select is gone: its set sits in this thread's pool, which
        // goes to the next thread when this one ends.
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

#[test]
fn a_waker_of_an_ended_thread_stays_sound_while_its_set_is_reused() {
    let mut kept = Vec::new();
    for _ in 0..size(50) {
        let waker = std::thread::spawn(|| {
            let board = Board::new(2);
            let (_parent, waker) = Counter::new();
            let mut fut = Box::pin(board.children::<2>().select());
            assert!(poll(fut.as_mut(), &waker).is_pending());
            assert!(board.fire(1));
            assert_eq!(poll(fut.as_mut(), &waker), Poll::Ready((1, 1)));
            board.waker(0).expect("branch 0 registered")
        })
        .join()
        .unwrap();
        // Woken while the next thread may be reusing the set: at most a
        // spurious wake there.
        waker.wake_by_ref();
        kept.push(waker);
    }
    for waker in kept {
        let clone = waker.clone();
        drop(waker);
        clone.wake();
    }
}
