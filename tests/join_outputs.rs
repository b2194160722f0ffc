//! `join` gives every output in order, for arrays, tuples and `Vec`, and
//! drops each future as soon as it finishes.
#![cfg(feature = "std")]

mod common;
mod select_util;

use common::{poll, Counter};
use pasts::prelude::*;
use select_util::Board;
use std::future::ready;
use std::pin::pin;
use std::task::Poll;

#[test]
fn tuple_join_gives_outputs_of_different_types() {
    let out = pasts::block_on((ready(1u8), async { "two" }, ready(3.0f32)).join());
    assert_eq!(out, (1, "two", 3.0));
}

#[test]
fn array_and_vec_joins_keep_order() {
    assert_eq!(
        pasts::block_on([ready(1), ready(2), ready(3)].join()),
        [1, 2, 3]
    );
    assert_eq!(
        pasts::block_on(vec![ready('a'), ready('b')].join()),
        ['a', 'b']
    );
    assert_eq!(
        pasts::block_on(Vec::<std::future::Ready<()>>::new().join()),
        []
    );
}

#[test]
fn finished_futures_are_dropped_at_once() {
    let board = Board::new(3);
    let (parent, waker) = Counter::new();
    let mut fut = pin!(board.children::<3>().join());
    assert!(poll(fut.as_mut(), &waker).is_pending());
    board.fire(1);
    assert_eq!(parent.wakes(), 1);
    assert!(poll(fut.as_mut(), &waker).is_pending());
    assert_eq!(
        board.drops(),
        1,
        "the finished future is dropped while the join runs"
    );
    assert_eq!(board.polls(0), 1, "an unwoken future is not re-polled");
    board.fire(0);
    board.fire(2);
    assert_eq!(poll(fut.as_mut(), &waker), Poll::Ready([0, 1, 2]));
    assert_eq!(board.drops(), 3);
}

#[test]
fn tuple_join_re_polls_only_the_woken_future() {
    let board = Board::new(2);
    let (_parent, waker) = Counter::new();
    let mut fut = pin!((board.child(0), board.child(1)).join());
    assert!(poll(fut.as_mut(), &waker).is_pending());
    board.fire(0);
    assert!(poll(fut.as_mut(), &waker).is_pending());
    assert_eq!((board.polls(0), board.polls(1)), (2, 1));
    board.fire(1);
    assert_eq!(poll(fut.as_mut(), &waker), Poll::Ready((0, 1)));
}
