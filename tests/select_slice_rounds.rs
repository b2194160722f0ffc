//! The slice form selects again and again over the same long-lived futures,
//! and after the first poll of each round re-polls only the woken branch.
#![cfg(feature = "std")]

mod common;
mod select_util;

use common::{poll, Counter};
use pasts::prelude::*;
use select_util::{next_below, size, Board};
use std::pin::pin;
use std::task::Poll;

#[test]
fn slice_select_is_reusable_for_many_rounds() {
    const N: usize = 8;
    let rounds = size(1000);
    let board = Board::new(N);
    let (_parent, waker) = Counter::new();
    let mut children = board.children::<N>();
    let mut rng = 0x2545_f491_4f6c_dd1d_u64;
    for _ in 0..rounds {
        let i = next_below(&mut rng, N);
        let mut fut = pin!(children.as_mut_slice().select());
        assert!(poll(fut.as_mut(), &waker).is_pending());
        let before = board.total_polls();
        assert!(board.fire(i), "branch {i} registered no waker");
        assert_eq!(poll(fut.as_mut(), &waker), Poll::Ready((i, i)));
        assert_eq!(
            board.total_polls() - before,
            1,
            "only the woken branch is re-polled"
        );
    }
    assert_eq!(board.drops(), 0);
    assert_eq!(board.total_polls(), rounds * (N + 1));
}
