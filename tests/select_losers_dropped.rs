//! A consuming select drops every future as soon as it completes, not when
//! the select future itself is dropped.
#![cfg(feature = "std")]

mod common;
mod select_util;

use common::{poll, Counter};
use pasts::prelude::*;
use select_util::Board;
use std::pin::pin;
use std::task::Poll;

#[test]
fn array_drops_losers_on_completion() {
    let board = Board::new(3);
    let (_parent, waker) = Counter::new();
    let mut fut = pin!(board.children::<3>().select());
    assert!(poll(fut.as_mut(), &waker).is_pending());
    board.fire(1);
    assert_eq!(poll(fut.as_mut(), &waker), Poll::Ready((1, 1)));
    assert_eq!(board.drops(), 3, "winner and losers dropped at completion");
}

#[test]
fn tuple_drops_losers_on_completion() {
    let board = Board::new(2);
    let (_parent, waker) = Counter::new();
    let mut fut = pin!((board.child(0), board.child(1)).select());
    assert!(poll(fut.as_mut(), &waker).is_pending());
    board.fire(0);
    assert_eq!(poll(fut.as_mut(), &waker), Poll::Ready((0, 0)));
    assert_eq!(board.drops(), 2);
}

#[test]
fn dropping_an_unfinished_select_drops_every_future() {
    let board = Board::new(3);
    let (_parent, waker) = Counter::new();
    {
        let mut fut = Box::pin(board.children::<3>().select());
        assert!(poll(fut.as_mut(), &waker).is_pending());
        assert_eq!(board.drops(), 0);
    }
    assert_eq!(board.drops(), 3);
}

#[test]
fn slice_select_leaves_every_future_in_place() {
    let board = Board::new(3);
    let mut children = board.children::<3>();
    board.fire(2);
    let (i, _) = pasts::block_on(children.as_mut_slice().select());
    assert_eq!(i, 2);
    assert_eq!(board.drops(), 0);
}
