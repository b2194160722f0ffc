//! A select, join or selector polled by another task than before (its
//! waker changed) is woken through the new task's waker: a wake must reach
//! whoever polled last, also while the branches still hold wakers from the
//! earlier polls. Runs under Miri.
#![cfg(feature = "std")]

mod common;
mod select_util;

use common::{poll, Counter};
use pasts::prelude::*;
use select_util::Board;
use std::future::Future;
use std::pin::{pin, Pin};
use std::task::{Poll, Waker};

/// Wakers the branches were given before the move: kept, as a branch that
/// stored its waker elsewhere would.
fn kept(board: &Board, n: usize) -> Vec<Waker> {
    (0..n)
        .map(|i| board.waker(i).expect("registered"))
        .collect()
}

/// Poll `fut` with one task, then another, fire branch `i`: the second
/// task must be woken, and the select report `i`.
fn select_wakes_the_new_task<F>(board: &Board, n: usize, mut fut: Pin<&mut F>, i: usize)
where
    F: Future<Output = (usize, usize)> + ?Sized,
{
    let (_first, a) = Counter::new();
    let (second, b) = Counter::new();
    assert!(poll(fut.as_mut(), &a).is_pending());
    let _old = kept(board, n);
    assert!(poll(fut.as_mut(), &b).is_pending());
    assert!(board.fire(i));
    assert!(second.wakes() >= 1, "the wake must reach the new task");
    assert_eq!(poll(fut.as_mut(), &b), Poll::Ready((i, i)));
}

#[test]
fn array_select_wakes_the_new_task() {
    let board = Board::new(3);
    let fut = pin!(board.children::<3>().select());
    select_wakes_the_new_task(&board, 3, fut, 1);
}

#[test]
fn slice_select_wakes_the_new_task() {
    let board = Board::new(2);
    let mut children = board.children::<2>();
    let fut = pin!(children.as_mut_slice().select());
    select_wakes_the_new_task(&board, 2, fut, 0);
}

#[test]
fn join_wakes_the_new_task() {
    let board = Board::new(2);
    let (_first, a) = Counter::new();
    let (second, b) = Counter::new();
    let mut fut = pin!(board.children::<2>().join());
    assert!(poll(fut.as_mut(), &a).is_pending());
    let _old = kept(&board, 2);
    assert!(poll(fut.as_mut(), &b).is_pending());
    assert!(board.fire(0));
    assert!(second.wakes() >= 1, "the wake must reach the new task");
    assert!(poll(fut.as_mut(), &b).is_pending());
    let before = second.wakes();
    assert!(board.fire(1));
    assert!(second.wakes() > before, "the wake must reach the new task");
    assert_eq!(poll(fut.as_mut(), &b), Poll::Ready([0, 1]));
}

#[test]
fn selector_wakes_the_new_task() {
    let board = Board::new(70);
    let (_first, a) = Counter::new();
    let (second, b) = Counter::new();
    // More than one bitset word: the two-level walk is rebuilt too.
    let mut selector = pasts::Selector::new((0..70).map(|i| board.child(i)));
    assert!(poll(Pin::new(&mut selector), &a).is_pending());
    let _old = kept(&board, 70);
    assert!(poll(Pin::new(&mut selector), &b).is_pending());
    for i in [3, 69] {
        let before = second.wakes();
        assert!(board.fire(i));
        assert!(second.wakes() > before, "the wake must reach the new task");
        assert_eq!(poll(Pin::new(&mut selector), &b), Poll::Ready((i, i)));
    }
    assert!(poll(Pin::new(&mut selector), &b).is_pending());
}
