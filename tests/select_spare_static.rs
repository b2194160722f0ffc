//! Without `std` (feature `alloc` only), dropped wake sets are kept in
//! shared static slots: threads hand them to each other while stale branch
//! wakers (kept from earlier selects, woken and dropped on another thread)
//! still point into them. Every select must still see its own wakes. Run
//! with `cargo test --no-default-features --features alloc` (and under
//! Miri, to check the hand-over for data races).
#![cfg(all(feature = "alloc", not(feature = "std")))]

mod common;
mod select_util;

use common::{poll, Counter};
use pasts::prelude::*;
use select_util::Board;
use std::pin::pin;
use std::sync::mpsc;
use std::task::{Poll, Waker};

#[test]
fn static_spares_survive_stale_wakers_across_threads() {
    let rounds = if cfg!(miri) { 8 } else { 500 };
    let (send, recv) = mpsc::channel::<Waker>();
    let stale = std::thread::spawn(move || {
        for waker in recv {
            waker.wake_by_ref();
            drop(waker);
        }
    });
    let owners: Vec<_> = (0..3)
        .map(|_| {
            let send = send.clone();
            std::thread::spawn(move || {
                for _ in 0..rounds {
                    let board = Board::new(3);
                    let (parent, waker) = Counter::new();
                    let mut fut = pin!(board.children::<3>().select());
                    assert!(poll(fut.as_mut(), &waker).is_pending());
                    send.send(board.waker(2).expect("registered")).unwrap();
                    assert!(board.fire(1));
                    // Woken since the poll began: by this wake, or (a stale
                    // waker was reading the old parent) by the poll itself.
                    assert!(parent.wakes() >= 1, "the wake must reach the task");
                    assert_eq!(poll(fut.as_mut(), &waker), Poll::Ready((1, 1)));
                }
            })
        })
        .collect();
    drop(send);
    for owner in owners {
        owner.join().unwrap();
    }
    stale.join().unwrap();
}
