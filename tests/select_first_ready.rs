//! The first branch to finish wins, reported with its index, for every
//! select form.
#![cfg(feature = "std")]

mod common;
mod select_util;

use common::{poll, Counter};
use pasts::prelude::*;
use select_util::Board;
use std::pin::pin;
use std::task::Poll;

#[test]
fn array_reports_the_woken_branch() {
    let board = Board::new(4);
    let (parent, waker) = Counter::new();
    let mut fut = pin!(board.children::<4>().select());
    assert!(poll(fut.as_mut(), &waker).is_pending());
    assert!(board.fire(2));
    assert_eq!(parent.wakes(), 1, "the branch's wake must wake the parent");
    assert_eq!(poll(fut.as_mut(), &waker), Poll::Ready((2, 2)));
}

#[test]
fn tuple_of_different_types_reports_the_woken_branch() {
    let board = Board::new(3);
    let (_parent, waker) = Counter::new();
    let boxed = async { 99 };
    let mut fut = pin!((board.child(0), boxed, board.child(2)).select());
    // The async block is ready at once: it wins with its own index.
    assert_eq!(poll(fut.as_mut(), &waker), Poll::Ready((1, 99)));

    let mut fut = pin!((board.child(0), std::future::pending(), board.child(2)).select());
    assert!(poll(fut.as_mut(), &waker).is_pending());
    assert!(board.fire(0));
    assert_eq!(poll(fut.as_mut(), &waker), Poll::Ready((0, 0)));
}

#[test]
fn slice_reports_the_woken_branch() {
    let board = Board::new(5);
    let (_parent, waker) = Counter::new();
    let mut children = board.children::<5>();
    let mut fut = pin!(children.as_mut_slice().select());
    assert!(poll(fut.as_mut(), &waker).is_pending());
    assert!(board.fire(4));
    assert_eq!(poll(fut.as_mut(), &waker), Poll::Ready((4, 4)));
}

#[test]
fn an_already_ready_branch_wins_on_the_first_poll() {
    let board = Board::new(3);
    board.fire(1);
    let (_parent, waker) = Counter::new();
    let mut fut = pin!(board.children::<3>().select());
    assert_eq!(poll(fut.as_mut(), &waker), Poll::Ready((1, 1)));
}

#[test]
fn seed_program_runs_under_block_on() {
    async fn async_identity_fn(arg: usize) -> usize {
        arg
    }
    let (i, res) = pasts::block_on([async_identity_fn(1), async_identity_fn(2)].select());
    assert_eq!(res, i + 1);
}
