//! The per-branch wakers are sound however they are used: kept after the
//! select is gone, cloned and dropped in any order, woken from another
//! thread, or held across a `Selector`'s reallocation. Meant for Miri.
#![cfg(feature = "std")]

mod common;
mod select_util;

use common::{poll, Counter};
use pasts::prelude::*;
use select_util::Board;
use std::future::Future;
use std::pin::{pin, Pin};
use std::sync::mpsc;
use std::task::{Poll, Waker};
use std::thread;

#[test]
fn wakers_outlive_the_select() {
    let board = Board::new(3);
    let (parent, waker) = Counter::new();
    let kept: Vec<Waker>;
    {
        let mut fut = Box::pin(board.children::<3>().select());
        assert!(poll(fut.as_mut(), &waker).is_pending());
        kept = (0..3)
            .map(|i| board.waker(i).expect("registered"))
            .collect();
    }
    // The select (and its handle on the shared allocation) is gone; the
    // wakers keep the allocation alive. Waking them is harmless.
    let copies = kept.to_vec();
    for w in &kept {
        w.wake_by_ref();
    }
    for w in &kept {
        w.wake_by_ref();
    }
    assert!(
        parent.wakes() <= 3,
        "a dead select wakes its task at most once per branch"
    );
    drop(kept);
    for w in copies {
        w.wake();
    }
    // The board still holds the registered wakers: dropped last, with it.
}

#[test]
fn clones_drop_in_any_order() {
    let board = Board::new(2);
    let (_parent, waker) = Counter::new();
    let mut fut = pin!(board.children::<2>().select());
    assert!(poll(fut.as_mut(), &waker).is_pending());
    let a = board.waker(0).expect("registered");
    let b = a.clone();
    let c = board.waker(1).expect("registered");
    assert!(a.will_wake(&b));
    assert!(!a.will_wake(&c));
    drop(a);
    c.wake_by_ref();
    drop(c);
    board.fire(0);
    b.wake();
    assert!(matches!(
        poll(fut.as_mut(), &waker),
        Poll::Ready((0 | 1, _))
    ));
}

#[test]
fn branch_woken_from_another_thread() {
    let board = Board::new(4);
    let (tx, rx) = mpsc::channel::<Waker>();
    let (i, v) = pasts::block_on(async {
        let mut children = board.children::<4>();
        let mut fut = pin!(children.as_mut_slice().select());
        // First poll registers every branch; hand branch 3's waker over.
        let first = std::future::poll_fn(|cx| {
            let out = fut.as_mut().poll(cx);
            if out.is_pending() {
                tx.send(board.waker(3).expect("registered")).unwrap();
            }
            Poll::Ready(out)
        })
        .await;
        assert!(first.is_pending());
        let board = board.clone();
        let waker = rx.recv().unwrap();
        let t = thread::spawn(move || {
            board.fire(3);
            waker.wake();
        });
        let out = fut.await;
        t.join().unwrap();
        out
    });
    assert_eq!((i, v), (3, 3));
}

#[test]
fn wakers_woken_on_other_threads_after_the_select_is_gone() {
    let board = Board::new(2);
    let (_parent, waker) = Counter::new();
    let wakers: Vec<Waker> = {
        let mut fut = Box::pin((board.child(0), board.child(1)).join());
        assert!(poll(fut.as_mut(), &waker).is_pending());
        (0..2)
            .map(|i| board.waker(i).expect("registered"))
            .collect()
    };
    let threads: Vec<_> = wakers
        .into_iter()
        .map(|w| {
            thread::spawn(move || {
                w.wake_by_ref();
                w.wake();
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
}

#[test]
fn old_wakers_survive_a_selector_reallocation() {
    let board = Board::new(12);
    let (_parent, waker) = Counter::new();
    let mut selector = pasts::Selector::new([board.child(0)]);
    assert!(poll(Pin::new(&mut selector), &waker).is_pending());
    let old = board.waker(0).expect("registered");
    for i in 1..12 {
        selector.push(board.child(i));
    }
    // The old allocation is only held by `old` (and the board's copy).
    old.wake_by_ref();
    board.fire(0);
    assert_eq!(poll(Pin::new(&mut selector), &waker), Poll::Ready((0, 0)));
    drop(old);
    drop(selector);
}

#[test]
fn sets_are_reused_soundly() {
    let board = Board::new(3);
    let (_parent, waker) = Counter::new();
    for round in 0..3 {
        let mut fut = pin!(board.children::<3>().select());
        assert!(poll(fut.as_mut(), &waker).is_pending());
        let i = round % 3;
        board.fire(i);
        assert_eq!(poll(fut.as_mut(), &waker), Poll::Ready((i, i)));
    }
}

#[test]
fn two_level_sets_woken_from_other_threads() {
    // More than one bitset word: wakes go through the summary level too.
    const N: usize = 300;
    let board = Board::new(N);
    let mut selector = pasts::Selector::new((0..N).map(|i| board.child(i)));
    let (_parent, waker) = Counter::new();
    assert!(poll(Pin::new(&mut selector), &waker).is_pending());
    let picks = [5, 64, 65, 200, 299];
    let threads: Vec<_> = picks
        .iter()
        .map(|&i| {
            let board = board.clone();
            thread::spawn(move || assert!(board.fire(i)))
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let mut won: Vec<usize> = (0..picks.len())
        .map(|_| match poll(Pin::new(&mut selector), &waker) {
            Poll::Ready((i, v)) => {
                assert_eq!(i, v);
                i
            }
            Poll::Pending => panic!("a woken source was not polled"),
        })
        .collect();
    won.sort_unstable();
    assert_eq!(won, picks);
    assert!(poll(Pin::new(&mut selector), &waker).is_pending());
}
