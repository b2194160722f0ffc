//! `Selector`: the persistent select of event loops. O(1) polls per wake at
//! any size, changes to its sources, fairness, an empty selector, and a
//! selector polled by another task or on other threads.
#![cfg(feature = "std")]

mod common;
mod select_util;

use common::{poll, within, Counter};
use pasts::prelude::*;
use pasts::Selector;
use select_util::{next_below, size, Board};
use std::cell::Cell;
use std::future::{pending, ready, Future};
use std::pin::Pin;
use std::rc::Rc;
use std::sync::mpsc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

/// Fire random sources `rounds` times: each wake must reach the parent
/// and cost at most two source polls (the woken one and the last winner).
fn polls_per_wake_stay_constant(n: usize, rounds: usize) {
    let board = Board::new(n);
    let (parent, waker) = Counter::new();
    let mut selector = Selector::new((0..n).map(|i| board.child(i)));
    // The first poll visits every source: nothing was registered before.
    assert!(poll(Pin::new(&mut selector), &waker).is_pending());
    assert_eq!(board.total_polls(), n);
    let mut rng = 0x9e37_79b9_7f4a_7c15_u64;
    let mut polls = board.total_polls();
    for _ in 0..rounds {
        let i = next_below(&mut rng, n);
        let wakes = parent.wakes();
        assert!(board.fire(i), "source {i} registered no waker");
        assert_eq!(parent.wakes(), wakes + 1, "the wake must reach the parent");
        assert_eq!(poll(Pin::new(&mut selector), &waker), Poll::Ready((i, i)));
        assert!(poll(Pin::new(&mut selector), &waker).is_pending());
        let now = board.total_polls();
        assert!(
            now - polls <= 2,
            "{} source polls for one wake",
            now - polls
        );
        polls = now;
    }
    assert_eq!(board.drops(), 0, "sources stay in place");
}

#[test]
fn polls_per_wake_stay_constant_with_1024_sources() {
    polls_per_wake_stay_constant(size(1024), size(1000));
}

/// A source of a million: one shared poll count and "hot" index (a
/// `Board` of a million sources would cost a million `Arc`s).
struct Cheap {
    i: usize,
    hot: Rc<Cell<usize>>,
    polls: Rc<Cell<usize>>,
    waker: Option<Waker>,
}

impl Future for Cheap {
    type Output = usize;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<usize> {
        self.polls.set(self.polls.get() + 1);
        if self.hot.get() == self.i {
            self.hot.set(usize::MAX);
            return Poll::Ready(self.i);
        }
        if self.waker.is_none() {
            self.waker = Some(cx.waker().clone());
        }
        Poll::Pending
    }
}

#[test]
fn one_hot_source_among_a_million_costs_constant_polls() {
    let n = if cfg!(miri) { 4096 } else { 1 << 20 };
    let rounds = if cfg!(miri) { 100 } else { 10_000 };
    let (parent, waker) = Counter::new();
    let hot = Rc::new(Cell::new(usize::MAX));
    let polls = Rc::new(Cell::new(0));
    let sources = (0..n).map(|i| Cheap {
        i,
        hot: hot.clone(),
        polls: polls.clone(),
        waker: None,
    });
    let mut selector = Selector::new(sources);
    assert!(poll(Pin::new(&mut selector), &waker).is_pending());
    assert_eq!(polls.get(), n);
    let pick = n / 3;
    for round in 0..rounds {
        let before = polls.get();
        hot.set(pick);
        let kept = selector.get(pick).and_then(|s| s.waker.clone());
        let wakes = parent.wakes();
        kept.expect("registered").wake();
        assert_eq!(
            parent.wakes(),
            wakes + 1,
            "round {round}: the wake was lost"
        );
        assert_eq!(
            poll(Pin::new(&mut selector), &waker),
            Poll::Ready((pick, pick))
        );
        assert!(poll(Pin::new(&mut selector), &waker).is_pending());
        let per = polls.get() - before;
        assert!(per <= 2, "round {round}: {per} source polls for one wake");
    }
}

#[test]
fn selector_is_fair() {
    let board = Board::new(100);
    board.set_always(3);
    board.set_always(97);
    let rounds = size(1000).max(200);
    let mut selector = Selector::new((0..100).map(|i| board.child(i)));
    let mut wins = [0; 2];
    pasts::block_on(async {
        for _ in 0..rounds {
            let (i, _) = (&mut selector).await;
            wins[usize::from(i == 97)] += 1;
        }
    });
    let floor = rounds / 3;
    assert!(
        wins[0] >= floor && wins[1] >= floor,
        "unfair split {wins:?}"
    );
}

#[test]
fn pushed_source_is_polled_next_round() {
    let board = Board::new(64);
    let (_parent, waker) = Counter::new();
    let mut selector = Selector::new([board.child(0)]);
    assert!(poll(Pin::new(&mut selector), &waker).is_pending());
    // Past the first allocation's room: the set grows.
    for i in 1..64 {
        assert_eq!(selector.push(board.child(i)), i);
    }
    board.fire(40);
    assert_eq!(poll(Pin::new(&mut selector), &waker), Poll::Ready((40, 40)));
    assert!(poll(Pin::new(&mut selector), &waker).is_pending());
    // The first source's waker still reaches the selector.
    assert!(board.fire(0));
    assert_eq!(poll(Pin::new(&mut selector), &waker), Poll::Ready((0, 0)));
}

#[test]
fn replaced_source_is_polled_next_round_and_the_old_one_dropped() {
    let board = Board::new(2);
    let mut selector = Selector::new([pending().fut(), board.child(1).fut()]);
    let (_parent, waker) = Counter::new();
    assert!(poll(Pin::new(&mut selector), &waker).is_pending());
    selector.replace(1, ready(7).fut());
    assert_eq!(board.drops(), 1, "the replaced source is dropped");
    assert_eq!(poll(Pin::new(&mut selector), &waker), Poll::Ready((1, 7)));
}

#[test]
fn remove_moves_the_last_source_into_the_gap() {
    let board = Board::new(4);
    let (_parent, waker) = Counter::new();
    let mut selector = Selector::new(board.children::<4>());
    assert!(poll(Pin::new(&mut selector), &waker).is_pending());
    selector.remove(1);
    assert_eq!(board.drops(), 1);
    assert_eq!(selector.len(), 3);
    assert_eq!(selector.iter().map(|c| c.i).collect::<Vec<_>>(), [0, 3, 2]);
    // The moved source is polled again and registers its new index.
    assert!(poll(Pin::new(&mut selector), &waker).is_pending());
    assert!(board.fire(3));
    assert_eq!(poll(Pin::new(&mut selector), &waker), Poll::Ready((1, 3)));
    selector.remove(2);
    assert_eq!(selector.len(), 2);
}

#[test]
fn sources_stay_in_place_after_firing() {
    let board = Board::new(2);
    let mut selector = Selector::new(board.children::<2>());
    for _ in 0..3 {
        board.fire(1);
        assert_eq!(pasts::block_on(&mut selector), (1, 1));
    }
    assert_eq!(board.drops(), 0);
    assert_eq!(selector.iter().map(|c| c.i).collect::<Vec<_>>(), [0, 1]);
}

#[test]
fn empty_selector_is_pending_and_push_wakes_it() {
    let (parent, waker) = Counter::new();
    let mut selector = Selector::<std::future::Ready<u8>>::new([]);
    assert!(poll(Pin::new(&mut selector), &waker).is_pending());
    assert!(poll(Pin::new(&mut selector), &waker).is_pending());
    let wakes = parent.wakes();
    selector.push(ready(5));
    assert_eq!(parent.wakes(), wakes + 1, "push must wake the task");
    assert_eq!(poll(Pin::new(&mut selector), &waker), Poll::Ready((0, 5)));
}

#[test]
fn empty_selector_awaited_while_another_thread_pushes() {
    use std::sync::{Arc, Mutex};
    within(Duration::from_secs(60), || {
        let selector = Arc::new(Mutex::new(Selector::new(Vec::new())));
        let pusher = {
            let selector = selector.clone();
            std::thread::spawn(move || {
                for k in 0..size(100) {
                    std::thread::sleep(Duration::from_micros(200));
                    selector.lock().unwrap().push(ready(k).fut_send());
                }
            })
        };
        let mut got = Vec::new();
        pasts::block_on(async {
            while got.len() < size(100) {
                let (i, k) =
                    std::future::poll_fn(|cx| Pin::new(&mut *selector.lock().unwrap()).poll(cx))
                        .await;
                // Fired once: take it out (the last source moves to `i`).
                selector.lock().unwrap().remove(i);
                got.push(k);
            }
        });
        pusher.join().unwrap();
        got.sort_unstable();
        assert_eq!(got, (0..size(100)).collect::<Vec<_>>());
    });
}

#[test]
fn a_replaced_source_whose_drop_panics_leaves_the_selector_whole() {
    use std::panic::{catch_unwind, AssertUnwindSafe};
    struct Bomb;
    impl Future for Bomb {
        type Output = u8;
        fn poll(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<u8> {
            Poll::Pending
        }
    }
    impl Drop for Bomb {
        fn drop(&mut self) {
            panic!("drop panics (on purpose)");
        }
    }
    let (_parent, waker) = Counter::new();
    let mut selector = Selector::new([Bomb.fut(), pending().fut()]);
    assert!(poll(Pin::new(&mut selector), &waker).is_pending());
    let replaced = catch_unwind(AssertUnwindSafe(|| selector.replace(0, ready(9).fut())));
    assert!(replaced.is_err());
    assert_eq!(poll(Pin::new(&mut selector), &waker), Poll::Ready((0, 9)));
}

#[test]
fn selector_wakes_the_new_task() {
    let board = Board::new(70);
    let (_first, a) = Counter::new();
    let (second, b) = Counter::new();
    let mut selector = Selector::new((0..70).map(|i| board.child(i)));
    assert!(poll(Pin::new(&mut selector), &a).is_pending());
    let _old: Vec<_> = (0..70)
        .map(|i| board.waker(i).expect("registered"))
        .collect();
    assert!(poll(Pin::new(&mut selector), &b).is_pending());
    for i in [3, 69] {
        // After a `Ready` the task polls again: wakes are owed after `Pending`.
        assert!(poll(Pin::new(&mut selector), &b).is_pending());
        let before = second.wakes();
        assert!(board.fire(i));
        assert!(second.wakes() > before, "the wake must reach the new task");
        assert_eq!(poll(Pin::new(&mut selector), &b), Poll::Ready((i, i)));
    }
    assert!(poll(Pin::new(&mut selector), &b).is_pending());
}

#[test]
fn sources_woken_from_many_threads_each_fire_once() {
    const N: usize = 300;
    let board = Board::new(N);
    let mut selector = Selector::new((0..N).map(|i| board.child(i)));
    let (_parent, waker) = Counter::new();
    assert!(poll(Pin::new(&mut selector), &waker).is_pending());
    let picks = [5, 64, 65, 200, 299];
    let threads: Vec<_> = picks
        .iter()
        .map(|&i| {
            let board = board.clone();
            std::thread::spawn(move || assert!(board.fire(i)))
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

#[test]
fn local_and_remote_wakes_at_once_are_never_lost() {
    within(Duration::from_secs(60), || {
        let board = Board::new(2);
        let mut selector = Selector::new(board.children::<2>());
        let (go_tx, go_rx) = mpsc::channel::<()>();
        let remote = {
            let board = board.clone();
            std::thread::spawn(move || {
                while go_rx.recv().is_ok() {
                    board.fire(1);
                }
            })
        };
        pasts::block_on(async {
            for _ in 0..size(2_000) {
                go_tx.send(()).unwrap();
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
    within(Duration::from_secs(60), || {
        let board = Board::new(4);
        let mut selector = Selector::new(board.children::<4>());
        let mut state = 7;
        for round in 0..size(200) {
            let i = next_below(&mut state, 4);
            let thread_board = board.clone();
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

#[test]
fn selector_is_send_and_unpin() {
    fn assert_send_unpin<T: Send + Unpin>(_: &T) {}
    let selector: Selector<std::future::Ready<u8>> = Selector::new([ready(1)]);
    assert_send_unpin(&selector);
    let collected: Selector<_> = (0..3).map(ready).collect();
    assert_eq!(collected.len(), 3);
}
