//! Per-branch wakes stay exact when the select's future moves to another
//! thread (it trades its wake set for one homed there, with every branch
//! woken once), and when wakes on the polling thread (plain loads and
//! stores) meet wakes from another thread (read-modify-writes). Runs under
//! Miri.
#![cfg(feature = "std")]

mod common;
mod select_util;

use common::{poll, Counter};
use pasts::prelude::*;
use pasts::Selector;
use select_util::{size, Board};
use std::sync::mpsc;
use std::task::Poll;
use std::time::Duration;

#[test]
fn a_moved_select_polls_every_branch_once_then_only_the_woken() {
    let board = Board::new(3);
    let (parent, waker) = Counter::new();
    let mut fut = Box::pin(board.children::<3>().select());
    assert!(poll(fut.as_mut(), &waker).is_pending());
    let stale = board.waker(2).expect("branch 2 registered");
    let (fired_tx, fired_rx) = mpsc::channel();
    let (moved_tx, moved_rx) = mpsc::channel();
    let worker = {
        let board = board.clone();
        std::thread::spawn(move || {
            // A new thread: the set is traded, and every branch polled once.
            assert!(poll(fut.as_mut(), &waker).is_pending());
            assert_eq!(
                (0..3).map(|i| board.polls(i)).collect::<Vec<_>>(),
                [2, 2, 2]
            );
            moved_tx.send(()).unwrap();
            fired_rx.recv().unwrap();
            // Woken from another thread: only that branch is polled.
            assert_eq!(poll(fut.as_mut(), &waker), Poll::Ready((1, 1)));
            assert_eq!(
                (0..3).map(|i| board.polls(i)).collect::<Vec<_>>(),
                [2, 3, 2]
            );
        })
    };
    moved_rx.recv().unwrap();
    // The old set's waker, woken on its home thread after the move: at
    // most a spurious wake of the parent, never a wake of the new set.
    stale.wake();
    let before = parent.wakes();
    assert!(board.fire(1), "branch 1 registered again after the move");
    assert_eq!(parent.wakes(), before + 1, "the wake reached the task");
    fired_tx.send(()).unwrap();
    worker.join().unwrap();
}

/// Run `f` on a thread; panic if it takes longer than a minute (a lost
/// wake-up hangs).
fn within_a_minute(f: impl FnOnce() + Send + 'static) {
    let (done_tx, done_rx) = mpsc::channel();
    let runner = std::thread::spawn(move || {
        f();
        let _ = done_tx.send(());
    });
    match done_rx.recv_timeout(Duration::from_secs(60)) {
        Ok(()) => runner.join().unwrap(),
        Err(mpsc::RecvTimeoutError::Disconnected) => runner.join().unwrap(),
        Err(mpsc::RecvTimeoutError::Timeout) => panic!("a wake was lost: the loop hung"),
    }
}

#[test]
fn local_and_shared_wakes_at_once_are_never_lost() {
    within_a_minute(|| {
        let board = Board::new(2);
        let mut selector = Selector::new(board.children::<2>());
        let (go_tx, go_rx) = mpsc::channel::<()>();
        let remote = {
            let board = board.clone();
            std::thread::spawn(move || {
                while go_rx.recv().is_ok() {
                    // Another thread: the shared bitset.
                    board.fire(1);
                }
            })
        };
        pasts::block_on(async {
            for _ in 0..size(2_000) {
                go_tx.send(()).unwrap();
                // The selector's home thread: the local bitset.
                board.fire(0);
                let (a, _) = (&mut selector).await;
                let (b, _) = (&mut selector).await;
                assert_eq!(a + b, 1, "each source fired once per round");
            }
        });
        drop(go_tx);
        remote.join().unwrap();
    });
}

#[test]
fn a_selector_moved_between_threads_keeps_every_event() {
    within_a_minute(|| {
        let board = Board::new(4);
        let mut selector = Selector::new(board.children::<4>());
        let mut state = 7;
        for round in 0..size(200) {
            let i = select_util::next_below(&mut state, 4);
            let thread_board = board.clone();
            // Every round on a new thread: each first poll there trades the set.
            selector = std::thread::spawn(move || {
                if round % 2 == 0 {
                    thread_board.fire(i);
                }
                let handle = {
                    let board = thread_board.clone();
                    std::thread::spawn(move || {
                        if round % 2 == 1 {
                            board.fire(i);
                        }
                    })
                };
                let (got, value) = pasts::block_on(&mut selector);
                handle.join().unwrap();
                assert_eq!((got, value), (i, i));
                selector
            })
            .join()
            .unwrap();
        }
    });
}
