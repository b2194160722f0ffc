//! `push`, `replace`, `remove` and `swap_remove` change a `Selector`'s
//! sources; a new or moved source is polled on the next round.
#![cfg(feature = "std")]

mod common;
mod select_util;

use common::{poll, Counter};
use pasts::prelude::*;
use select_util::Board;
use std::future::{pending, ready};
use std::pin::Pin;
use std::task::Poll;

#[test]
fn pushed_source_is_polled_next_round() {
    let board = Board::new(64);
    let (_parent, waker) = Counter::new();
    let mut selector = pasts::Selector::new([board.child(0)]);
    assert!(poll(Pin::new(&mut selector), &waker).is_pending());
    // Past the first allocation's room: the set is reallocated.
    for i in 1..64 {
        assert_eq!(selector.push(board.child(i)), i);
    }
    board.fire(40);
    assert_eq!(poll(Pin::new(&mut selector), &waker), Poll::Ready((40, 40)));
    // Every source registered with the new wakers: a wake of an old source
    // reaches the selector.
    assert!(poll(Pin::new(&mut selector), &waker).is_pending());
    assert!(board.fire(0));
    assert_eq!(poll(Pin::new(&mut selector), &waker), Poll::Ready((0, 0)));
}

#[test]
fn replaced_source_is_polled_next_round() {
    let mut selector = pasts::Selector::new([pending().fut(), pending().fut()]);
    let (_parent, waker) = Counter::new();
    assert!(poll(Pin::new(&mut selector), &waker).is_pending());
    let _old = selector.replace(1, ready(7).fut());
    assert_eq!(poll(Pin::new(&mut selector), &waker), Poll::Ready((1, 7)));
}

#[test]
fn remove_shifts_later_sources_down() {
    let board = Board::new(4);
    let (_parent, waker) = Counter::new();
    let mut selector = pasts::Selector::new(board.children::<4>());
    assert!(poll(Pin::new(&mut selector), &waker).is_pending());
    let gone = selector.remove(1);
    assert_eq!(gone.i, 1);
    drop(gone);
    assert_eq!(board.drops(), 1);
    assert_eq!(selector.len(), 3);
    // The moved sources are polled again and register their new index.
    assert!(poll(Pin::new(&mut selector), &waker).is_pending());
    assert!(board.fire(3));
    assert_eq!(poll(Pin::new(&mut selector), &waker), Poll::Ready((2, 3)));
}

#[test]
fn swap_remove_moves_the_last_source() {
    let board = Board::new(4);
    let (_parent, waker) = Counter::new();
    let mut selector = pasts::Selector::new(board.children::<4>());
    assert!(poll(Pin::new(&mut selector), &waker).is_pending());
    assert_eq!(selector.swap_remove(0).i, 0);
    assert_eq!(selector.get(0).map(|c| c.i), Some(3));
    assert!(poll(Pin::new(&mut selector), &waker).is_pending());
    assert!(board.fire(3));
    assert_eq!(poll(Pin::new(&mut selector), &waker), Poll::Ready((0, 3)));
}

#[test]
fn sources_stay_in_place_after_firing() {
    let board = Board::new(2);
    let mut selector = pasts::Selector::new(board.children::<2>());
    for _ in 0..3 {
        board.fire(1);
        assert_eq!(pasts::block_on(&mut selector), (1, 1));
    }
    assert_eq!(board.drops(), 0);
    assert_eq!(selector.iter().map(|c| c.i).collect::<Vec<_>>(), [0, 1]);
}
